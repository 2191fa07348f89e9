"""Site rendering: a folder of static files, HTML rendered with Jinja2 and stack outputs.

HTML files are Jinja2 templates (autoescaped, StrictUndefined: a value the page needs but
was not given is an error, not an empty string); files whose name starts with `_` are
layouts and partials they extend or include, and are not published. Other files are
copied as they are.
Each file carries its content type and cache headers: pages revalidate, assets may be
cached briefly. Rendering is deterministic, so the deployer can compare hashes and only
upload (and invalidate) what changed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass

import jinja2

from .errors import GeneratorError

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


def render_site(folder: str, values: dict) -> list[SiteFile]:
    """Every file under `folder`, HTML rendered with `values`, sorted by key."""
    if not os.path.isdir(folder):
        raise GeneratorError(f"site folder {folder} does not exist")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder),
                             undefined=jinja2.StrictUndefined, autoescape=True,
                             keep_trailing_newline=True)
    files = []
    for directory, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.startswith((".", "_")):
                continue
            key = os.path.relpath(os.path.join(directory, name), folder).replace(os.sep, "/")
            files.append(_file(env, folder, key, values))
    return sorted(files, key=lambda f: f.key)


def _file(env: jinja2.Environment, folder: str, key: str, values: dict) -> SiteFile:
    suffix = os.path.splitext(key)[1].lower()
    content_type = TYPES.get(suffix) or mimetypes.guess_type(key)[0] or \
        "application/octet-stream"
    if suffix == ".html":
        try:
            body = env.get_template(key).render(**values).encode("utf-8")
        except jinja2.UndefinedError as exc:
            raise GeneratorError(f"{folder}/{key}: {exc.message}; the deploy passes "
                                 f"{', '.join(sorted(values)) or 'no values'}") from None
        return SiteFile(key, body, content_type, PAGE_CACHE)
    with open(os.path.join(folder, key), "rb") as handle:
        return SiteFile(key, handle.read(), content_type, ASSET_CACHE)
