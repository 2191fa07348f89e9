"""What a build was made from: one hash over every input of an app's build.

Synth records it in each manifest; deploy and plan recompute it and refuse a build whose
inputs changed since (a blueprint edited without `make synth` would otherwise deploy as
"unchanged"). Inputs: the app's blueprints and site assets, all Lambda code (functions
may include shared packages), and the generator's version. Paths are relative and
sorted, so the hash is the same on any machine.
"""

from __future__ import annotations

import hashlib
import os

from . import __version__

SKIP_DIRS = {"__pycache__", ".pytest_cache"}


def inputs_hash(root: str, app: str) -> str:
    digest = hashlib.sha256(f"generator {__version__}\n".encode())
    for folder in (f"blueprints/{app}", "lambda_code", f"site_assets/{app}"):
        for path in _files(root, folder):
            with open(os.path.join(root, path), "rb") as handle:
                digest.update(f"{path}\n".encode() + hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def _files(root: str, folder: str) -> list[str]:
    found = []
    for current, dirs, files in os.walk(os.path.join(root, folder)):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            if not name.endswith(".pyc"):
                found.append(os.path.relpath(os.path.join(current, name), root)
                             .replace(os.sep, "/"))
    return sorted(found)
