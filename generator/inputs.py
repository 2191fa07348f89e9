"""What a build was made from: one hash over every input of an app's build.

Synth records it in each manifest; deploy and plan recompute it and refuse a build whose
inputs changed since (a blueprint edited without `make synth` would otherwise deploy as
"unchanged"). Inputs: the app's blueprints and site assets, all Lambda code (functions
may include shared packages), and the generator's version. Paths are relative and
sorted, so the hash is the same on any machine.
"""

from __future__ import annotations

import functools
import hashlib
import os

from . import __version__
from .paths import looked

SKIP_DIRS = {"__pycache__", ".pytest_cache"}


def inputs_hash(root: str, app: str) -> str:
    digest = hashlib.sha256(f"generator {__version__}\n".encode())
    for folder in (f"blueprints/{app}", "lambda_code", f"site_assets/{app}"):
        digest.update(_folder_digest(root, folder, _stamp(root, folder)))
    return digest.hexdigest()


def _stamp(root: str, folder: str) -> tuple:
    """Each file's path, size and change time: the folder's digest is computed again only
    when one of them changes (every app shares lambda_code/, walked once a synth)."""
    return looked(("inputs", root, folder), lambda: _walk_stamp(root, folder))


def _walk_stamp(root: str, folder: str) -> tuple:
    stamp = []
    for path in _files(root, folder):
        info = os.lstat(os.path.join(root, path))
        stamp.append((path, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


@functools.lru_cache(maxsize=64)
def _folder_digest(root: str, folder: str, stamp: tuple) -> bytes:
    digest = hashlib.sha256()
    for path, _, _ in stamp:
        full = os.path.join(root, path)
        if os.path.islink(full):
            # a link counts as where it points: it is not followed (it may leave the
            # project, or point nowhere; synth reports that where it matters)
            content = f"link to {os.readlink(full)}".encode()
        else:
            with open(full, "rb") as handle:
                content = handle.read()
        digest.update(f"{path}\n".encode() + hashlib.sha256(content).digest())
    return digest.digest()


def _files(root: str, folder: str) -> list[str]:
    found = []
    for current, dirs, files in os.walk(os.path.join(root, folder)):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(current, d))]:
            if not name.endswith(".pyc"):
                found.append(os.path.relpath(os.path.join(current, name), root)
                             .replace(os.sep, "/"))
    return sorted(found)
