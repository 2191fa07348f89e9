"""Every file the tool reads or ships stays inside the project.

Blueprints arrive in pull requests, and so can symbolic links: a link in lambda_code/
or site_assets/ would otherwise pull `~/.aws/credentials` into a Lambda zip or a public
bucket. Each path is resolved with `realpath` and must stay below the project's own real
path; a link that leaves it is refused by name, as are dangling links, loops of links and
folders where a file is expected. Some files are never shipped, wherever they are:
private keys, and anything under .git/ or a virtualenv.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import GeneratorError

NEVER_SHIPPED = ("*.key", "*.p12", "*.pfx", "*.jks", "id_rsa*", "id_ed25519*", "id_ecdsa*",
                 ".env", ".env.*", "*.env", ".netrc", ".npmrc", ".pypirc", "credentials",
                 "*.tfstate", "*.tfstate.*")
NEVER_SHIPPED_DIRS = (".git", ".venv", ".venv-referees", ".cache", ".ssh", ".aws",
                      "node_modules")
_NEVER_SHIPPED = re.compile("|".join(fnmatch.translate(os.path.normcase(pattern))
                                     for pattern in NEVER_SHIPPED))
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_here = threading.local()                   # .looks: within `one_look()`, on this thread


@contextmanager
def one_look() -> Iterator[None]:
    """Within it, each folder is walked once. A synth hashes every app's inputs and
    packages every function, and lambda_code/ (shared by every app) would otherwise be
    walked again for each app, environment and function: quadratic in a project of many
    apps. Per thread: a deploy or plan, or a synth on another thread, looks afresh."""
    saved = getattr(_here, "looks", None)
    _here.looks = {}
    try:
        yield
    finally:
        _here.looks = saved


def looked(key: tuple, walk: Callable[[], Any]) -> Any:
    """`walk()`, once per key within `one_look()` on this thread; every time outside it."""
    looks = getattr(_here, "looks", None)
    if looks is None:
        return walk()
    if key not in looks:
        looks[key] = walk()
    return looks[key]


class PathError(GeneratorError):
    """A path that leaves the project, or a file that is not what it claims to be."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


def resolve(root: str, relative: str, want: str = "file") -> str:
    """The real path of a project-relative path, which must exist inside the project.

    `want` is "file" or "folder"; anything else there is an error."""
    base = os.path.realpath(root)
    path = os.path.join(base, relative)
    _check_links(base, relative)
    if not os.path.lexists(path):
        raise PathError(f"{relative} does not exist")
    real = os.path.realpath(path)
    if not inside(base, real):
        raise PathError(f"{relative} is outside the project; the tool only reads files "
                        "inside the project folder")
    if want == "file" and not os.path.isfile(real):
        raise PathError(f"{relative} is a folder, not a file" if os.path.isdir(real)
                        else f"{relative} is not a regular file")
    if want == "folder" and not os.path.isdir(real):
        raise PathError(f"{relative} is a file, not a folder")
    return real


def _check_links(base: str, relative: str) -> None:
    """Each link on the way to `relative` must resolve, without a loop, inside `base`."""
    current = base
    for part in relative.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        if not os.path.islink(current):
            continue
        shown = os.path.relpath(current, base)
        target = os.readlink(current)
        try:
            real = os.path.realpath(current, strict=True)
        except OSError as exc:
            what = "a loop of links" if exc.errno == 40 else "a link to nothing"
            raise PathError(f"{shown} is {what} (it points at {target}); remove or fix "
                            "the link") from None
        if not inside(base, real):
            raise PathError(f"{shown} is a link to {target}, outside the project; the tool "
                            "only reads files inside the project folder: copy the file in "
                            "instead of linking to it")
        current = real


def no_links(root: str, relative: str) -> None:
    """Refuse a folder to write in (or delete from) that is, or lies below, a link: synth
    writes only into real folders of the project (build/ is committed, so a pull request
    could link build/<env>/<app> anywhere)."""
    current = os.path.realpath(root)
    for part in relative.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        if os.path.islink(current):
            shown = os.path.relpath(current, os.path.realpath(root))
            raise PathError(f"{shown} is a link (to {os.readlink(current)}); synth writes "
                            "only into real folders of the project: remove the link and run "
                            "it again (nothing was written)")


def inside(base: str, real: str) -> bool:
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def read_text(root: str, relative: str, real: str | None = None) -> str:
    """A project file's text; errors name the file and, for bad bytes, where they are.
    `real`: what `resolve(root, relative)` returned already."""
    with open(real or resolve(root, relative), "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PathError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} here); save the "
                        "file as UTF-8", line, col) from None


def walk(root: str, folder: str, skip_dirs: frozenset[str] = frozenset(),
         within: str | None = None) -> list[tuple[str, str]]:
    """(path relative to `folder`, real path) of each file below a project folder, sorted.

    Hidden files and folders and `skip_dirs` are left out; every link is checked, and
    with `within` (a project folder) must also stay inside that folder."""
    base = os.path.realpath(root)
    found: list[tuple[str, str]] = []
    _walk(base, folder.rstrip("/"), "", skip_dirs, found, {resolve(root, folder, "folder")})
    if within is not None:
        fence = os.path.realpath(os.path.join(base, within))
        for relative, real in found:
            if not inside(fence, real):
                raise PathError(f"{folder}/{relative} leads to "
                                f"{os.path.relpath(real, base)}, outside {within}/; copy "
                                "the file in instead of linking to it")
    return sorted(found)


def _walk(base: str, folder: str, below: str, skip_dirs: frozenset[str],
          found: list, seen: set[str]) -> None:
    real_dir = os.path.realpath(os.path.join(base, folder, below))
    for name in sorted(os.listdir(real_dir)):
        if name.startswith(".") or name in skip_dirs:
            continue
        relative = f"{below}{name}"
        shown = f"{folder}/{relative}"
        _check_links(base, shown)
        real = os.path.realpath(os.path.join(base, shown))
        if os.path.isdir(real):
            if real in seen:
                raise PathError(f"{shown} leads back to a folder above it (a loop of "
                                "links); remove the link")
            _walk(base, folder, relative + "/", skip_dirs, found, seen | {real})
        elif os.path.isfile(real):
            found.append((relative, real))


def tree_stamp(root: str, folder: str) -> tuple:
    """Every entry below a folder with its size, change time and link target, without
    following links: what a cached walk of that folder depends on."""
    return looked(("tree", root, folder), lambda: _tree_stamp(root, folder))


def _tree_stamp(root: str, folder: str) -> tuple:
    stamp = []
    for current, dirs, files in os.walk(os.path.join(root, folder)):
        dirs.sort()
        for name in sorted(files + dirs):
            full = os.path.join(current, name)
            info = os.lstat(full)
            link = os.readlink(full) if os.path.islink(full) else ""
            stamp.append((full, info.st_size, info.st_mtime_ns, info.st_ino, link))
    return tuple(stamp)


def never_shipped(relative: str) -> str | None:
    """Why a project file may never be uploaded anywhere, or None."""
    parts = relative.replace("\\", "/").split("/")
    for part in parts[:-1]:
        if part in NEVER_SHIPPED_DIRS:
            return f"files under {part}/ are never shipped"
    if _NEVER_SHIPPED.match(parts[-1]):       # one look; then which pattern it was
        for pattern in NEVER_SHIPPED:
            if fnmatch.fnmatch(parts[-1], pattern):
                return f"{pattern} files (private keys and secrets) are never shipped"
    return None


def check_real(root: str, real: str, shown: str) -> None:
    """Refuse a file whose real place is one that is never shipped (a link can give a
    key an innocent name)."""
    reason = never_shipped(os.path.relpath(real, os.path.realpath(root)))
    if reason:
        raise PathError(f"{shown} cannot be shipped: it is "
                        f"{os.path.relpath(real, os.path.realpath(root))}, and {reason}")


def check_shippable(relative: str, data: bytes) -> None:
    """Refuse a file that must not leave the machine: by its name, or a private key inside."""
    reason = never_shipped(relative)
    if reason is None and PRIVATE_KEY.search(data):
        reason = "it holds a private key, and private keys are never shipped"
    if reason:
        raise PathError(f"{relative} cannot be shipped: {reason}")
