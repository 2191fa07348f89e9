"""`make bench` rows at scale and against cfn-lint, with CPU time and peak memory.

Every figure is a fresh process measured with its whole process tree (benchtree), so a
row's CPU includes the lint workers and its memory is the peak of all of them at once.
The machine is shared: the load average is printed with each table.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from pathlib import Path

from .benchtree import Usage, measure
from .conftest import copy_sources

SYNTH = [sys.executable, "-m", "generator", "synth", "--quiet", "--env", "dev"]
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
# The least a cfn-lint based linter pays in one process: import cfn-lint, build its rules
# once, lint each template (with our shortcuts: lintspeed, and the part of sympy cfn-lint
# uses, lazysympy, as the lint host does); no synth, no cache, no second core, no teardown.
FLOOR = ("import os, sys; from generator.lint import _lint_one, _prepare_host; _prepare_host(); "
         "[_lint_one((p, open(p, 'rb').read(), 'eu-west-1')) for p in sys.argv[1:]]; "
         "os._exit(0)")


def raffles(work: Path, count: int) -> Path:
    """A project holding `count` renamed copies of the raffle (5 dev stacks each)."""
    copy_sources(work)
    source, target = work / "blueprints" / "raffle", work / "copies"
    for index in range(count):
        name = f"raffle{index}"
        shutil.copytree(source, target / name)
        app_yaml = target / name / "app.yaml"
        app_yaml.write_text(app_yaml.read_text().replace("name: raffle", f"name: {name}", 1))
    shutil.rmtree(work / "blueprints")
    target.rename(work / "blueprints")
    return work


def _cold(work: Path, *extra: str) -> Usage:
    shutil.rmtree(work / ".cache", ignore_errors=True)
    return measure([*SYNTH, *extra], work)


def _median(runs: list[Usage]) -> Usage:
    return Usage(statistics.median(u.wall for u in runs), statistics.median(u.cpu for u in runs),
                 max(u.peak_rss for u in runs), max(u.peak_pss for u in runs), 0)


def against_cfn_lint(temporary: Path, runs: int) -> list[tuple[str, str]]:
    """The raffle's cold synth, the cfn-lint command line and the floor, interleaved so
    that all three see the same load."""
    work = raffles(temporary / "raffle", 1)
    _cold(work)
    templates = sorted(str(p) for p in (work / "build/dev/raffle0").glob("*.yaml"))
    commands = {"ours": lambda: _cold(work),
                "cfn-lint": lambda: measure([CFN_LINT, "--regions", "eu-west-1", "--",
                                             *templates], work, check=False),
                "floor": lambda: measure([sys.executable, "-c", FLOOR, *templates], work)}
    got: dict[str, list[Usage]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, run in commands.items():
            got[name].append(run())
    ours, cli, floor = (_median(got[name]) for name in commands)
    return [
        ("raffle (5 stacks), cold synth with lint", _usage(ours)),
        ("cfn-lint command line, same 5 templates", _usage(cli)),
        ("floor: cfn-lint imported, rules built once, 5 lints, 1 process", _usage(floor)),
        ("ratio ours / cfn-lint command line (target ≤ 0.6)",
         f"{ours.wall / cli.wall:.2f} wall, {ours.cpu / cli.cpu:.2f} CPU"),
        ("ratio ours / floor", f"{ours.wall / floor.wall:.2f} wall, "
                               f"{ours.cpu / floor.cpu:.2f} CPU"),
    ]


def _usage(usage: Usage) -> str:
    return (f"{usage.wall:7.2f} s wall, {usage.cpu:7.2f} s CPU, peak {usage.rss_mb:5.0f} MB "
            f"RSS / {usage.pss_mb:5.0f} MB PSS")


def at_scale(temporary: Path, counts: list[int]) -> list[tuple[str, str]]:
    """Cold lint and no-lint synth of 1, 10, 100, 1,000 raffles: per stack, memory,
    and how well the lint uses the cores (wall against lint CPU ÷ cores)."""
    rows, base = [], None
    cores = min(2, os.cpu_count() or 1)
    for count in counts:
        work = raffles(temporary / f"scale-{count}", count)
        stacks = 5 * count
        plain = _cold(work, "--no-lint")
        base = base or plain
        marginal = (plain.wall - base.wall) / max(1, stacks - 5) * 1000
        rows.append((f"{count} × raffle ({stacks} stacks), no lint",
                     f"{_usage(plain)}; {marginal:.2f} ms/extra stack (≤ 1 at 5,000)"))
        linted = _cold(work)
        lint_cpu = max(1e-9, linted.cpu - plain.cpu)
        rows.append((f"{count} × raffle ({stacks} stacks), cold lint",
                     f"{_usage(linted)}; {linted.wall / stacks * 1000:.1f} ms/stack; "
                     f"wall = {linted.wall / (lint_cpu / cores):.2f} × lint CPU ÷ {cores} "
                     f"(≤ 1.2)"))
        shutil.rmtree(work)
    return rows


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
