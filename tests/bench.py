"""`make bench`: how long synth and lint take, in one run, as a small table.

Each whole-command figure is a fresh `python -m generator` process (imports included),
the median of a few runs, on copies of the shipped blueprints in a temporary folder.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .benchscale import against_cfn_lint, at_scale, load
from .conftest import REPO, copy_sources

RUNS = 5


def _timed(command: list[str], cwd: Path, before=None) -> float:
    times = []
    for _ in range(RUNS):
        if before:
            before()
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _templates(cwd: Path) -> int:
    """How many templates a synth of this folder makes (every app, every environment)."""
    done = subprocess.run([sys.executable, "-m", "generator", "synth", "--quiet", "--no-lint"],
                          cwd=cwd, check=True, capture_output=True, text=True)
    return int(done.stdout.split("synth: ", 1)[1].split(" ", 1)[0])


def _copies(root: Path, count: int) -> int:
    """Replace blueprints/ with `count` renamed copies of every shipped app."""
    source = root / "blueprints"
    target = root / f"blueprints-{count}"
    stacks = 0
    for app_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        for index in range(count):
            name = f"{app_dir.name}{index}"
            shutil.copytree(app_dir, target / name)
            app_yaml = target / name / "app.yaml"
            app_yaml.write_text(app_yaml.read_text().replace(
                f"name: {app_dir.name}", f"name: {name}", 1))
            stacks += len(list((target / name).glob("[0-9][0-9]-*.yaml")))
    return stacks


def _synth_copies(root: Path, count: int, lint: bool) -> tuple[int, float]:
    work = root.parent / f"copies-{count}-{lint}"
    copy_sources(work)
    _copies(work, count)
    shutil.rmtree(work / "blueprints")
    (work / f"blueprints-{count}").rename(work / "blueprints")
    stacks = _templates(work)
    command = [sys.executable, "-m", "generator", "synth", "--quiet"]
    if not lint:
        command.append("--no-lint")
    cache = work / ".cache"
    seconds = _timed(command, work, before=lambda: shutil.rmtree(cache, ignore_errors=True))
    return stacks, seconds


def _deploys(temporary: Path) -> list[tuple[str, float, str]]:
    """Full local deploy of both apps from scratch, then a no-op deploy, each a fresh
    `python -m generator deploy` process against a fresh local cloud."""
    from .localcloud import LocalCloud, project

    root = project(temporary / "deploy")
    rows = []
    scratch, noop = [], []
    for _ in range(3):
        cloud = LocalCloud(temporary)
        command = [sys.executable, "-m", "generator", "deploy", "--endpoint", cloud.endpoint,
                   "--yes"]
        try:
            for times in (scratch, noop):
                started = time.perf_counter()
                done = subprocess.run(command, cwd=root, capture_output=True, text=True)
                times.append(time.perf_counter() - started)
                if done.returncode:
                    raise SystemExit(f"deploy failed:\n{done.stdout}\n{done.stderr}")
            assert "0 write call(s)" in done.stdout, done.stdout
        finally:
            cloud.stop()
    rows.append(("local deploy of both apps from scratch (9 stacks)",
                 statistics.median(scratch), "≤ 10 s"))
    rows.append(("no-op local deploy (0 write calls)", statistics.median(noop), "≤ 1 s"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--scale", metavar="COUNTS", type=_counts, default=[],
                        help="also lint this many raffles cold, e.g. 1,10,100,1000")
    args = parser.parse_args(argv)
    # byte-compiled first, as any install is (cfn-lint's own files are, by pip): where
    # PYTHONDONTWRITEBYTECODE is set, every run would otherwise compile generator/ again
    compileall.compile_dir(str(REPO / "generator"), quiet=1)
    print(load())
    with tempfile.TemporaryDirectory() as temporary:
        _print(_rows(Path(temporary)))
        ratios = against_cfn_lint(Path(temporary), RUNS)
        _print_text(ratios + at_scale(Path(temporary), args.scale))
    print(load())


def _counts(text: str) -> list[int]:
    return [int(count) for count in text.split(",")]


def _print_text(rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print()
    for what, figures in rows:
        print(f"{what:<{width}}  {figures}")


def _rows(temporary: Path) -> list[tuple[str, float, str]]:
    root = copy_sources(temporary / "project")
    stacks = _templates(root)
    synth = [sys.executable, "-m", "generator", "synth", "--quiet"]
    cold = _timed(synth, root, before=lambda: shutil.rmtree(root / ".cache",
                                                            ignore_errors=True))
    rows = [(f"shipped apps ({stacks} stacks, 3 envs), cold lint cache", cold, "")]
    # the 16 stacks issue 14's target was set for: raffle and customers, dev and local
    first = synth + ["--app", "raffle", "--app", "customers", "--env", "dev", "--env", "local"]
    sixteen = _timed(first, root, before=lambda: shutil.rmtree(root / ".cache",
                                                               ignore_errors=True))
    rows.append(("raffle + customers, dev + local (16 stacks), cold", sixteen, "≤ 0.9 s"))
    warm = _timed(synth, root)
    rows.append(("unchanged re-synth (lint cache hit)", warm, "≤ 0.3 s"))
    rows.append(_after_a_narrowed_synth(root, synth))
    base = _timed(synth + ["--no-lint"], root)
    rows.append(("shipped apps, no lint", base, ""))
    for count in (10, 100):
        n, seconds = _synth_copies(root, count, lint=False)
        per = (seconds - base) / max(1, n - stacks) * 1000
        rows.append((f"{count} copies ({n} stacks), no lint", seconds,
                     f"{per:.2f} ms/stack marginal (≤ 2)"))
    n, seconds = _synth_copies(root, 10, lint=True)
    rows.append((f"10 copies ({n} stacks), cold lint, {os.cpu_count()} cores", seconds, ""))
    return rows + _deploys(temporary)


def _after_a_narrowed_synth(root: Path, synth: list[str]) -> tuple[str, float, str]:
    """A full synth right after one narrowed to an app and an environment."""
    subprocess.run(synth + ["--app", "raffle", "--env", "dev"], cwd=root, check=True,
                   capture_output=True)
    started = time.perf_counter()
    done = subprocess.run(synth, cwd=root, check=True, capture_output=True, text=True)
    hits = done.stdout.split("lint cache ", 1)[1].split(",", 1)[0]
    return ("full re-synth after a narrowed one", time.perf_counter() - started,
            f"lint cache {hits} (100 %)")


def _print(rows: list[tuple[str, float, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'seconds':>8}  target / note")
    for what, seconds, note in rows:
        print(f"{what:<{width}}  {seconds:>8.3f}  {note}")


if __name__ == "__main__":
    main()
