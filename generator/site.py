"""Site rendering: a folder of static files, HTML rendered with Jinja2 and stack outputs.

HTML files are Jinja2 templates, rendered in the same sandbox as blueprints (autoescaped,
StrictUndefined: a value the page needs but was not given is an error, not an empty
string); files whose name starts with `_` are layouts and partials they extend or
include, from the site folder only, and are not published. Other files are copied as
they are. Every file is read inside the project only.
Each file carries its content type and cache headers: pages revalidate, assets may be
cached briefly. Rendering is deterministic, so the deployer can compare hashes and only
upload (and invalidate) what changed.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import os
from dataclasses import dataclass

import jinja2

from .errors import GeneratorError
from .paths import (
    PathError,
    check_real,
    check_shippable,
    inside,
    read_text,
    resolve,
    tree_stamp,
    walk,
)
from .sandbox import Sandbox, forbidden, template_line

PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=300"
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
         ".json": "application/json", ".txt": "text/plain; charset=utf-8"}


@dataclass(frozen=True)
class SiteFile:
    key: str
    body: bytes
    content_type: str
    cache_control: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class _SiteLoader(jinja2.BaseLoader):
    """Layouts and partials from the site folder only; each checked before it is used."""

    def __init__(self, root: str, folder: str) -> None:
        self.root, self.folder = root, folder

    def get_source(self, environment, template):
        shown = f"{self.folder}/{template}"
        try:
            real = resolve(self.root, shown)
            if not inside(os.path.realpath(os.path.join(self.root, self.folder)), real):
                raise PathError(f"it leads outside {self.folder}/; a page includes only "
                                "files of its own site folder")
            check_real(self.root, real, shown)
            text = read_text(self.root, shown)
            check_shippable(shown, text.encode("utf-8"))
        except PathError as exc:
            raise GeneratorError(f"{shown}: {exc.message}") from None
        refused = forbidden(environment, text, "site page", partials=True)
        if refused:
            raise GeneratorError("\n".join(f"{shown}:{line}:{col}: {message}"
                                           for line, col, message in refused))
        return text, shown, lambda: False


def render_site(root: str, folder: str, values: dict) -> list[SiteFile]:
    """Every file under the project folder `folder`, HTML rendered with `values`, by key.

    Files are read inside the project only (links leaving it are errors), and nothing
    that is never shipped (private keys, .git/ …) is published."""
    try:
        found = walk(root, folder, within=folder)
        for key, real in found:
            check_real(root, real, f"{folder}/{key}")
    except PathError as exc:
        raise GeneratorError(f"site folder {folder}: {exc.message}") from None
    env = Sandbox(loader=_SiteLoader(root, folder), autoescape=True)
    files = []
    for key, real in found:
        if os.path.basename(key).startswith("_"):
            continue
        files.append(_file(env, folder, key, real, values))
    return sorted(files, key=lambda f: f.key)


def _file(env: jinja2.Environment, folder: str, key: str, real: str,
          values: dict) -> SiteFile:
    suffix = os.path.splitext(key)[1].lower()
    content_type = TYPES.get(suffix) or mimetypes.guess_type(key)[0] or \
        "application/octet-stream"
    if suffix != ".html":
        with open(real, "rb") as handle:
            body = handle.read()
        check_shippable(f"{folder}/{key}", body)
        return SiteFile(key, body, content_type, ASSET_CACHE)
    try:
        body = env.get_template(key).render(**values).encode("utf-8")
    except jinja2.TemplateSyntaxError as exc:
        raise GeneratorError(f"{exc.filename or folder + '/' + key}:{exc.lineno}:1: "
                             f"template error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise GeneratorError(f"{folder}/{key}:{template_line(exc)}:1: {exc.message}; the "
                             f"deploy passes {', '.join(sorted(values)) or 'no values'}"
                             ) from None
    except GeneratorError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a page raises is its author's
        line = template_line(exc)
        raise GeneratorError(f"{folder}/{key}:{line}:1: {{{{ … }}}} refused: {exc}") from None
    try:
        check_shippable(f"{folder}/{key}", body)
    except PathError as exc:
        raise GeneratorError(f"{folder}/{key}, rendered: {exc.message}") from None
    return SiteFile(key, body, content_type, PAGE_CACHE)


def check_site(root: str, folder: str) -> None:
    """What synth can check of a site before any value exists: every file inside the
    folder, none that is never shipped, and every page and partial parsed and checked in
    the sandbox (nothing rendered). Raises PathError. Done once per state of the folder
    (every environment and app copy publishes the same one)."""
    stamp = tree_stamp(root, folder) if os.path.lexists(os.path.join(root, folder)) else ()
    problem = _site_problem(root, folder, stamp)
    if problem is not None:
        raise PathError(*problem)


@functools.lru_cache(maxsize=64)
def _site_problem(root: str, folder: str, stamp: tuple) -> tuple | None:
    try:
        _check_site(root, folder)
    except PathError as exc:
        return exc.message, exc.line, exc.col
    return None


def _check_site(root: str, folder: str) -> None:
    env = Sandbox(loader=_SiteLoader(root, folder), autoescape=True)
    for key, real in walk(root, folder, within=folder):
        shown = f"{folder}/{key}"
        check_real(root, real, shown)
        with open(real, "rb") as handle:
            data = handle.read()
        check_shippable(shown, data)
        if key.endswith(".html"):
            try:
                env.get_template(key)     # the loader checks each page and what it includes
            except jinja2.TemplateSyntaxError as exc:
                raise PathError(f"{shown}:{exc.lineno}: template error: {exc.message}"
                                ) from None
            except jinja2.TemplateNotFound as exc:
                raise PathError(f"{shown} includes {exc.name}, which is not in {folder}/"
                                ) from None
            except GeneratorError as exc:
                raise PathError(str(exc)) from None
