"""Lint: cfn-lint on every template in one process, rules built once, results cached.

cfn-lint is the slow part of a synth (importing it and building its rules costs about
0.7 s), so results are cached by template hash, region and cfn-lint version: when every
template hits the cache, cfn-lint is not even imported. Many misses are linted on both
cores by forking after the rules are built, so each worker gets them for free.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version

from .errors import Mark

CACHE_FORMAT = 3
PARALLEL_FROM = 4
CHUNK = 8
_RULES = None


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match, with the blueprint position and key it comes from where known."""

    template: str
    line: int
    col: int
    rule: str
    severity: str
    message: str
    source: Mark | None
    key: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        said = f"{self.message} (cfn-lint {self.rule})"
        at = f"{self.template}:{self.line}:{self.col}"
        if self.source is None:
            return f"{at}: {said}"
        return f"{self.source}: {self.key}: {said} [template {at}]"


@dataclass(frozen=True)
class LintJob:
    name: str
    text: bytes
    region: str
    sources: dict

    @property
    def key(self) -> str:
        return hashlib.sha256(self.region.encode() + b"\0" + self.text).hexdigest()


class LintCache:
    """Raw cfn-lint results by template key, in one JSON file outside build/."""

    def __init__(self, path: str | None) -> None:
        self.path, self.entries, self.paths, self.dirty = path, {}, {}, False
        self.tool = version("cfn-lint")
        if path and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
                if data.get("format") == CACHE_FORMAT and data.get("cfn-lint") == self.tool:
                    self.entries, self.paths = data["entries"], data["paths"]
            except (OSError, ValueError, KeyError):
                self.entries, self.paths = {}, {}

    def save(self, used: dict[str, str], full: bool) -> None:
        """Keep the entries of the templates this run made (`used`: path → key) and,
        unless it made them all, those of every other template it did not look at: a
        synth narrowed to one app must not cost the next full synth its cache."""
        paths = dict(sorted((used if full else {**self.paths, **used}).items()))
        keep = set(paths.values())
        if not self.path or not (self.dirty or set(self.entries) - keep
                                 or paths != self.paths):
            return
        if os.path.islink(os.path.dirname(self.path)) or os.path.islink(self.path):
            return          # a cache is never written through a link (it may leave the project)
        data = {"format": CACHE_FORMAT, "cfn-lint": self.tool, "paths": paths,
                "entries": {k: v for k, v in sorted(self.entries.items()) if k in keep}}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(temporary, self.path)


def _rules():
    global _RULES
    if _RULES is None:
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner import Runner

        _RULES = Runner(ConfigMixIn(regions=["us-east-1"])).rules
    return _RULES


def _lint_one(job: tuple[str, bytes, str]) -> list[list]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import run_template_by_data

    name, text, region = job
    template, matches = decode_str(text.decode("utf-8"))
    if not matches:
        config = ConfigMixIn(regions=[region])
        matches = list(run_template_by_data(template, config, _rules()))
    return sorted([m.linenumber, m.columnnumber, m.rule.id, m.rule.severity, m.message,
                   [p if isinstance(p, int) else str(p) for p in (m.path or [])]]
                  for m in matches)


def _run(jobs: list[LintJob], workers: int) -> list[list[list]]:
    raw = [(j.name, j.text, j.region) for j in jobs]
    _rules()
    with _collecting():
        if workers > 1 and len(jobs) >= PARALLEL_FROM:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(workers,
                                                            initializer=_worker_signals)
            try:
                return pool.map(_lint_one, raw, chunksize=_chunk(len(raw), workers))
            finally:
                # close and join, not terminate: a worker must never be killed while it
                # holds the pool's queue lock (the other one would wait on it forever)
                pool.close()
                pool.join()
        return [_lint_one(job) for job in raw]


def _chunk(jobs: int, workers: int) -> int:
    """Few jobs per hand-out (well under a second of linting): with large chunks, one
    worker can be left linting its last chunk alone for a minute at 5,000 stacks."""
    return max(1, min(CHUNK, jobs // (workers * 4)))


def _worker_signals() -> None:
    """Workers take the default signal handling, whatever their parent installed."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def _collecting():
    """The cyclic collector on while linting, over new objects only.

    A synth runs with the collector off, but cfn-lint leaves ~1.4 MB of cycles behind
    per template: without it, memory grows without bound. Everything alive before
    (cfn-lint's rules and schemas) is frozen first, so no collection scans it again and
    a forked worker, which inherits this state, never writes to the pages it shares
    with its parent (scanning writes to every object it visits).
    """
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        if not was_enabled:
            gc.disable()
        gc.unfreeze()


def lint(jobs: list[LintJob], cache_path: str | None, workers: int | None = None,
         full: bool = True) -> tuple[list[Finding], int]:
    """Lint every job; return the findings and how many templates hit the cache.

    `full` says the jobs are every template of the project: only then are the cache
    entries of templates not among them dropped."""
    cache = LintCache(cache_path)
    misses = [j for j in jobs if j.key not in cache.entries]
    if misses:
        results = _run(misses, workers or min(2, os.cpu_count() or 1))
        for job, result in zip(misses, results, strict=True):
            cache.entries[job.key] = result
        cache.dirty = True
    cache.save({j.name: j.key for j in jobs}, full)
    findings = [_finding(job, raw) for job in jobs for raw in cache.entries[job.key]]
    return findings, len(jobs) - len(misses)


def _finding(job: LintJob, raw: list) -> Finding:
    from .synth import locate

    line, col, rule, severity, message, path = raw
    origin = job.sources.get(path[1]) if len(path) > 1 and path[0] == "Resources" else None
    if origin is None:
        return Finding(job.name, line, col, rule, severity, message, None)
    mark, key = locate(origin, path[1], tuple(path[2:]))
    return Finding(job.name, line, col, rule, severity, message, mark, key)
