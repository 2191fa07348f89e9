"""Plugin kinds: a project's own kinds, and kinds from installed packages.

Kinds are Python code, so they are trusted like the rest of a repository's code, unlike
blueprints (untrusted input, rendered in a sandbox). Nothing a blueprint says can load
code: a project's kinds are loaded only when its `pyproject.toml` names their folder,

    [tool.generator]
    kinds = ["kinds"]        # folders inside the project; each module defines KIND

and installed packages provide kinds through the entry point group `generator.kinds`
(installing a package is the act of trust). Every plugin kind is named with where it
came from (`generator kinds`, synth's summary line). A clash of names, a module that
fails to import or that defines no Kind is one clear error, never a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from importlib import metadata
from typing import Any

from .errors import GeneratorError
from .kinds import Kind, builtin, use_plugins

GROUP = "generator.kinds"
MODULE_PREFIX = "generator_project_kinds"
# kind name → where it came from ("kinds/queue.py", "entry point sqs_kinds:KIND (pkg 1.0)")
origins: dict[str, str] = {}
_active: tuple | None = None


class PluginError(GeneratorError):
    """A plugin kind that cannot be used: broken, misdeclared, or clashing."""


def activate(root: str) -> dict[str, str]:
    """Load the plugin kinds for the project at `root` into the registry (once per
    project and configuration); returns {kind: origin}."""
    global _active
    folders = declared_folders(root)
    key = (os.path.realpath(root), folders, _stamps(root, folders))
    if key != _active:
        found: dict[str, tuple[Kind, str]] = {}
        for kind, origin in _entry_point_kinds() + _folder_kinds(root, folders):
            _add(found, kind, origin)
        use_plugins({name: kind for name, (kind, _) in found.items()})
        origins.clear()
        origins.update({name: origin for name, (_, origin) in sorted(found.items())})
        _active = key
    return dict(origins)


def declared_folders(root: str) -> tuple[str, ...]:
    """The kinds folders `pyproject.toml` declares under [tool.generator] (none: ())."""
    path = os.path.join(root, "pyproject.toml")
    if not os.path.isfile(path):
        return ()
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle).get("tool", {}).get("generator", {})
    except tomllib.TOMLDecodeError as exc:
        raise PluginError(f"pyproject.toml: {exc}; fix the file") from None
    folders = config.get("kinds", [])
    if isinstance(folders, str):
        folders = [folders]
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise PluginError("pyproject.toml: [tool.generator] kinds should be a list of "
                          f"folders inside the project, e.g. [\"kinds\"]; got {folders!r}")
    return tuple(folders)


def _stamps(root: str, folders: tuple[str, ...]) -> tuple:
    """Modification times of the plugin modules, so an edited kind is loaded again."""
    stamps = []
    for folder in folders:
        base = os.path.join(root, folder)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            stamps.append((name, os.stat(os.path.join(base, name)).st_mtime_ns))
    return tuple(stamps)


def _add(found: dict[str, tuple[Kind, str]], kind: Kind, origin: str) -> None:
    if kind.name in builtin():
        raise PluginError(f"{origin}: a kind named {kind.name!r} is built in; give the "
                          "plugin kind another name")
    if kind.name in found:
        raise PluginError(f"two plugin kinds are named {kind.name!r}: "
                          f"{found[kind.name][1]} and {origin}; rename one of them")
    found[kind.name] = (kind, origin)


def _folder_kinds(root: str, folders: tuple[str, ...]) -> list[tuple[Kind, str]]:
    base = os.path.realpath(root)
    kinds = []
    for folder in folders:
        real = os.path.realpath(os.path.join(base, folder))
        if not real.startswith(base + os.sep) or not os.path.isdir(real):
            raise PluginError(f"pyproject.toml: [tool.generator] kinds names {folder!r}, "
                              "which is not a folder inside the project; create it or "
                              "fix the setting")
        for name in sorted(os.listdir(real)):
            if name.endswith(".py") and not name.startswith(("_", ".")):
                shown = f"{folder.rstrip('/')}/{name}"
                kinds += _kinds_of(_import_file(os.path.join(real, name), shown), shown)
    return kinds


def _import_file(path: str, shown: str) -> Any:
    name = f"{MODULE_PREFIX}.{os.path.splitext(shown)[0].replace('/', '.')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module      # dataclasses look their module up while defining
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any failure in a plugin is the plugin's
        sys.modules.pop(name, None)
        raise PluginError(f"{shown} could not be loaded: {_said(exc)}; fix the module, "
                          "or remove its folder from [tool.generator] kinds in "
                          "pyproject.toml") from None
    return module


def _said(exc: BaseException) -> str:
    line = getattr(exc, "lineno", None)
    frames = [f for f in _frames(exc.__traceback__) if f.tb_frame.f_code.co_filename
              .endswith(".py")]
    if line is None and frames:
        line = frames[-1].tb_lineno
    return f"{type(exc).__name__}: {exc}" + (f" (line {line})" if line else "")


def _frames(tb) -> list:
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    return frames


def _kinds_of(obj: Any, origin: str) -> list[tuple[Kind, str]]:
    """A module's KIND (or KINDS), or a Kind itself (what an entry point may name)."""
    if isinstance(obj, Kind):
        return [(obj, origin)]
    kinds = getattr(obj, "KINDS", None) or [getattr(obj, "KIND", None)]
    if not kinds or not all(isinstance(k, Kind) for k in kinds):
        raise PluginError(f"{origin} defines no kind: a plugin module sets "
                          "KIND = Kind(...) (from generator import Kind), or KINDS = [...]")
    return [(kind, origin) for kind in kinds]


def _entry_point_kinds() -> list[tuple[Kind, str]]:
    kinds = []
    for point in sorted(metadata.entry_points(group=GROUP), key=lambda p: p.name):
        dist = getattr(point, "dist", None)
        origin = f"entry point {point.value}" + (
            f" ({dist.name} {dist.version})" if dist is not None else "")
        try:
            loaded = point.load()
        except Exception as exc:  # noqa: BLE001 - any failure in a plugin is the plugin's
            raise PluginError(f"{origin} could not be loaded: {_said(exc)}; fix or "
                              "uninstall that package") from None
        kinds += _kinds_of(loaded, origin)
    return kinds
