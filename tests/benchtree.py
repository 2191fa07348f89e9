"""A command's wall time, CPU time and peak memory, its whole process tree included.

`getrusage` reports the largest single process, not the sum of a parent and its forked
lint workers alive at the same time, so the tree is sampled from /proc while it runs.
RSS counts pages shared after a fork once per process (an upper bound); PSS splits them
between the processes sharing them (what the tree really costs the machine).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE = 0.05


@dataclass(frozen=True)
class Usage:
    wall: float
    cpu: float
    peak_rss: int
    peak_pss: int
    returncode: int

    @property
    def rss_mb(self) -> float:
        return self.peak_rss / 2**20

    @property
    def pss_mb(self) -> float:
        return self.peak_pss / 2**20


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry))
    return tree


def _tree(root: int) -> list[int]:
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes, from smaps_rollup; 0 once it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


def measure(command: list[str], cwd: Path, check: bool = True) -> Usage:
    """Run a command; sample its process tree's memory until it exits."""
    with tempfile.TemporaryFile() as errors:   # a pipe could fill up and block the command
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        peak, done = _sample(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done()
        code = os.waitstatus_to_exitcode(status)
        process.returncode = code
        if check and code:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{errors.read().decode()}")
    return Usage(wall, usage.ru_utime + usage.ru_stime, peak[0], peak[1], code)


def _sample(root: int):
    """Sample the tree's summed RSS and PSS every SAMPLE seconds in a thread; return the
    peaks (a list filled in place) and a function that stops the sampling."""
    peak, stop = [0, 0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            sizes = [_memory(pid) for pid in _tree(root)]
            peak[0] = max(peak[0], sum(s[0] for s in sizes))
            peak[1] = max(peak[1], sum(s[1] for s in sizes))
            stop.wait(SAMPLE)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def done() -> None:
        stop.set()
        sampler.join()

    return peak, done
