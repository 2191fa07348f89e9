"""Lint: cfn-lint on every template, rules built once, results cached.

cfn-lint is the slow part of a synth (importing it and building its rules costs about
0.45 s), so results are cached by template hash, region and cfn-lint version: when every
template hits the cache, no lint process starts. Misses go to worker processes
(`lintpool`) that build the rules on the second core while the synth goes on and lint
each template as soon as it is made.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from .errors import Mark
from .lintpool import LintCrashed, LintPool

CACHE_FORMAT = 3
CACHE_PATH = ".cache/lint.json"
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
        from importlib.metadata import version  # ~20 ms: after a cold start's fork

        self.path, self.entries, self.paths, self.dirty = path, {}, {}, False
        self.tool = version("cfn-lint")
        if path and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
                if isinstance(data, dict) and data.get("format") == CACHE_FORMAT \
                        and data.get("cfn-lint") == self.tool \
                        and isinstance(data["entries"], dict) and isinstance(data["paths"], dict):
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

        from . import lintspeed

        lintspeed.apply()
        _RULES = Runner(ConfigMixIn(regions=["us-east-1"])).rules
    return _RULES


def _prepare_host():
    """The lint host (a process of one thread, forked to lint) imports only the part of
    sympy cfn-lint uses (`lazysympy`, ~0.15 s less on a cold synth's critical path)."""
    from . import lazysympy

    lazysympy.install()
    try:
        return _rules()
    finally:
        lazysympy.seal()


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
                   [p if isinstance(p, int) else str(p) for p in _path(m)]]
                  for m in matches)


def _path(match) -> list:
    """A match's place in the template; a match from cfn-lint's decoder (a duplicate key,
    say) has none."""
    return getattr(match, "path", None) or []


class Linter:
    """Lint templates as the synth makes them: cache hits at once, misses in a LintPool
    whose workers start on the first miss (or at once: `start`) and lint while the synth
    goes on. Use as a context manager: leaving it early stops the workers."""

    hosts_started = 0          # in this process: from the second on, rules are built here

    def __init__(self, cache_path: str | None, workers: int | None = None,
                 start: bool = False) -> None:
        self.pool = LintPool(workers or min(2, os.cpu_count() or 1), _prepare_host,
                             _lint_one)
        self.jobs: list[LintJob] = []
        self.missed: dict[str, int] = {}     # key → the pool's index for it
        self.names: dict[int, str] = {}      # the pool's index → template
        self.hits = 0
        if start:
            self.start()
        try:
            self.cache = LintCache(cache_path)
        except BaseException:
            self.close()                    # no one else could stop the host now
            raise

    def __enter__(self) -> Linter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers if they still run (after an error; a no-op after finish)."""
        self.pool.close()

    def start(self) -> None:
        """Start the workers now, before the first miss: for a synth that will lint
        (an empty cache), while this process is still small.

        A process that synthesizes again (a library user, a test run) builds cfn-lint's
        rules once, here, so that every later host inherits them instead of building
        them again (~0.45 s a synth); a one-off synth builds them in the host, beside
        the synth."""
        if self.pool.host:
            return
        if Linter.hosts_started:
            _rules()
        Linter.hosts_started += 1
        self.pool.start()

    def offer(self, job: LintJob) -> None:
        self.jobs.append(job)
        if job.key in self.cache.entries:
            self.hits += 1
        elif job.key not in self.missed:
            self.start()
            index = self.pool.submit((job.name, job.text, job.region), cost=len(job.text))
            self.missed[job.key], self.names[index] = index, job.name

    def pump(self) -> None:
        """Keep the workers busy while the synth does something else for a while."""
        self.pool.pump()

    def finish(self, full: bool = True) -> tuple[list[Finding], int]:
        """The findings of every job offered and how many hit the cache.

        `full` says the jobs are every template of the project: only then are the cache
        entries of templates not among them dropped."""
        try:
            results = self.pool.results()
        except LintCrashed as crash:
            where = self.names.get(crash.index, "its rules (before any template)")
            raise RuntimeError(f"cfn-lint crashed on {where}:\n{crash.details}") from None
        for key, index in self.missed.items():
            self.cache.entries[key] = results[index]
        self.cache.dirty = self.cache.dirty or bool(self.missed)
        self.cache.save({j.name: j.key for j in self.jobs}, full)
        findings = [_finding(job, raw) for job in self.jobs
                    for raw in self.cache.entries[job.key]]
        return findings, self.hits

    @classmethod
    def cold_start(cls, cache_path: str | None) -> Linter:
        """A linter whose workers start now when the cache is empty (every template will
        miss), while this process is still small; otherwise on the first miss. The
        command line calls it before it imports the builders (a cold synth of five
        stacks is ~5 % faster); with no cache file at all, before it reads anything."""
        linter = cls(cache_path, start=not (cache_path and os.path.exists(cache_path)))
        if not linter.cache.entries:
            linter.start()
        return linter


def lint(jobs: list[LintJob], cache_path: str | None, workers: int | None = None,
         full: bool = True) -> tuple[list[Finding], int]:
    """Lint every job; return the findings and how many templates hit the cache."""
    with Linter(cache_path, workers) as linter:
        for job in jobs:
            linter.offer(job)
        return linter.finish(full)


def _finding(job: LintJob, raw: list) -> Finding:
    from .synth import locate

    line, col, rule, severity, message, path = raw
    origin = job.sources.get(path[1]) if len(path) > 1 and path[0] == "Resources" else None
    if origin is None:
        return Finding(job.name, line, col, rule, severity, message, None)
    mark, key = locate(origin, path[1], tuple(path[2:]))
    return Finding(job.name, line, col, rule, severity, message, mark, key)
