"""Deterministic Lambda packages, named by the hash of what they contain.

A function's folder under `lambda_code/` (plus any shared folders it includes, as
packages) becomes a zip with sorted entries, a fixed timestamp and fixed modes. Its key
is the sha256 of the files' paths and contents, so the template changes exactly when
the code does, whatever the machine, zlib version or file timestamps.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache

from .errors import GeneratorError, did_you_mean
from .paths import check_real, check_shippable, never_shipped, read_text, tree_stamp, walk

SKIPPED_DIRS = {"__pycache__", "tests", "fixtures", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Asset:
    """A file the deployer uploads to the asset bucket under `key`."""

    key: str
    sha256: str
    data: bytes = b""

    @property
    def file_name(self) -> str:
        return self.key.replace("/", "-")


def _files(root: str, folder: str, prefix: str) -> tuple[tuple[str, str], ...]:
    """(name in the zip, real path) of each file to package: links checked, and kept
    inside lambda_code/ (paths.walk); nothing whose real place is never shipped. The
    same folder is packaged for every stage, environment and app copy: walked once per
    state of its entries."""
    if not os.path.lexists(os.path.join(root, folder)):
        return _walked(root, folder, prefix, ())
    return _walked(root, folder, prefix, tree_stamp(root, folder))


@lru_cache(maxsize=256)
def _walked(root: str, folder: str, prefix: str, stamp: tuple) -> tuple[tuple[str, str], ...]:
    found = []
    for relative, real in walk(root, folder, frozenset(SKIPPED_DIRS), within="lambda_code"):
        if not relative.endswith(SKIPPED_SUFFIXES):
            check_real(root, real, f"{folder}/{relative}")
            found.append((prefix + relative, real))
    return tuple(found)


def package(root: str, code: str, include: tuple[str, ...] = ()) -> Asset:
    """Zip lambda_code/<code> (at the zip's root) and each included folder (as a package).

    Raises PathError for a link leaving the project and GeneratorError for an empty folder
    or a file that is never shipped (a private key)."""
    entries = list(_files(root, f"lambda_code/{code}", ""))
    for shared in include:
        entries.extend(_files(root, f"lambda_code/{shared}", shared + "/"))
    entries.sort()
    if not entries:
        raise GeneratorError(f"lambda_code/{code} holds no files to package")
    for name, _ in entries:
        reason = never_shipped(name)
        if reason:
            raise GeneratorError(f"lambda_code/{code}: {name} cannot be packaged: {reason}")
    # The same folder is packaged for every stage and environment that uses it: zip it
    # once per state of its files (a changed file has another size or mtime).
    stamp = tuple((name, os.stat(full).st_size, os.stat(full).st_mtime_ns)
                  for name, full in entries)
    return _package(code, tuple(entries), stamp)


NODE_SUFFIXES = (".js", ".mjs", ".cjs")


def handler_problem(root: str, code: str, include: tuple[str, ...], handler: str,
                    runtime: str = "python") -> str | None:
    """What is wrong with a `module.function` handler, read without running the code."""
    if runtime.startswith("nodejs"):
        return _node_problem(root, code, handler)
    module, function = handler.rsplit(".", 1)
    path = module.replace(".", "/")
    for folder in (code, *include):
        for candidate in (f"lambda_code/{folder}/{path}.py",
                          f"lambda_code/{folder}/{path}/__init__.py"):
            if os.path.isfile(os.path.join(root, candidate)):
                stat = os.stat(os.path.join(root, candidate))
                return _defines(root, candidate, function, stat.st_size, stat.st_mtime_ns)
    return (f"no module '{module}' in lambda_code/{code}/ (looked for "
            f"lambda_code/{code}/{path}.py); fix the handler or add the file")


def _node_problem(root: str, code: str, handler: str) -> str | None:
    """Node.js resolves `file.function` to file.js, .mjs or .cjs at the zip's root."""
    path, function = handler.rsplit(".", 1)
    for suffix in NODE_SUFFIXES:
        shown = f"lambda_code/{code}/{path}{suffix}"
        if os.path.isfile(os.path.join(root, shown)):
            text = read_text(root, shown)
            if re.search(rf"\b(exports\.{function}\b|export\s+(async\s+)?(function|const|"
                         rf"let|var)\s+{function}\b|{function}\s*[,}}]|{function}\s*:)",
                         text):
                return None
            return f"{shown} does not export '{function}' (exports.{function} = … or " \
                   f"export const {function} = …); fix the handler's function name"
    return (f"no file '{path}.js' (or .mjs, .cjs) in lambda_code/{code}/; fix the handler "
            "or add the file")


@lru_cache(maxsize=1024)
def _defines(root: str, shown: str, function: str, size: int, mtime_ns: int) -> str | None:
    """Read once per state of the file (size and mtime are part of the key): the same
    handler is checked for every environment and every copy of an app."""
    try:
        tree = ast.parse(read_text(root, shown), shown)
    except SyntaxError as exc:
        return f"{shown}:{exc.lineno}:{exc.offset}: the handler's module is not valid " \
               f"Python: {exc.msg}"
    names, functions = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    if function in names | functions:
        return None
    # what a handler could be: the module's functions (not its imports and constants)
    public = sorted(n for n in functions if not n.startswith("_"))
    return (f"{shown} defines no '{function}'" + did_you_mean(function, public)
            + f" (its functions: {', '.join(public) or 'none'}); fix the handler's "
            "function name")


@lru_cache(maxsize=256)
def _package(code: str, entries: tuple[tuple[str, str], ...], stamp: tuple) -> Asset:
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, full in entries:
            with open(full, "rb") as handle:
                content = handle.read()
            check_shippable(f"lambda_code/{code}/{name}", content)
            digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content, compresslevel=9)
    sha = digest.hexdigest()
    return Asset(f"lambda/{code}/{sha}.zip", sha, buffer.getvalue())
