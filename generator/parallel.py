"""A synth of many apps on two cores: a forked helper builds apps beside this process.

Apps are independent until their results are merged, so a synth without running lint
workers forks one helper before it loads a blueprint. The two share a queue of app
indices: a pipe filled and closed before the fork, from which each takes the next index
with one 4-byte read (whole, on a pipe), so neither waits for the other and no lock is
shared. The helper sends each app's outcome back as a message (`pipes`); this process
reads them between its own stages and merges every outcome in index order as soon as all
before it are in, so the result is the same, byte for byte, as one process would make.

What the work prints in the helper (a plugin kind's `print`, or a program it runs) goes
to two files on the helper's standard output and error, is sent back with each outcome
and printed when that outcome is merged, to this process's `sys.stdout` and `sys.stderr`
as they are then (a progress bar's, say). This process's own work prints as it goes: each
app's output is whole and in the order of its process's work, never lost.

Whatever the helper did not deliver (it raised on an app, or it was killed) this process
does itself: a bug or a user mistake is then reported exactly as a serial synth reports
it. The helper runs in a process group of its own and ignores Ctrl-C, which reaches this
process; leaving early (an error, Ctrl-C) kills it.
"""

from __future__ import annotations

import heapq
import os
import select
import signal
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, NamedTuple

from .pipes import (
    become_worker,
    close,
    frame,
    grow,
    messages,
    read_available,
    write_all,
)

RECORD = struct.Struct(">I")
WAIT = 0.01                 # seconds between ticks while only the helper is working
Work = Callable[[int, "Callable[[], None] | None"], Any]


def can_fork() -> bool:
    """Two cores for this process, fork, and no other thread (a fork copies the locks
    another thread may hold, and the helper would wait on them forever)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    return (cores >= 2 and hasattr(os, "fork") and threading.active_count() == 1
            and threading.current_thread() is threading.main_thread())


class _Printed(NamedTuple):
    """An outcome of the helper's, with what its work printed there."""

    outcome: Any
    out: bytes
    err: bytes


class _InOrder:
    """Merges outcomes by index, each as soon as every one before it is in."""

    def __init__(self, merge: Callable[[int, Any], None]) -> None:
        self.merge, self.waiting, self.next = merge, {}, 0

    def add(self, index: int, outcome: Any) -> None:
        self.keep(index, outcome)
        self.drain()

    def keep(self, index: int, outcome: Any) -> None:
        """Hold an outcome without merging yet (a merge may raise: none is lost)."""
        self.waiting.setdefault(index, outcome)

    def drain(self) -> None:
        while self.next in self.waiting:
            outcome = self.waiting.pop(self.next)
            if isinstance(outcome, _Printed):
                _echo(outcome)
                outcome = outcome.outcome
            self.merge(self.next, outcome)
            self.next += 1

    def has(self, index: int) -> bool:
        return index < self.next or index in self.waiting

    def echo_waiting(self) -> None:
        """What the helper printed for outcomes never merged (the synth stops early)."""
        for index in sorted(self.waiting):
            if isinstance(self.waiting[index], _Printed):
                _echo(self.waiting[index])


def _echo(printed: _Printed) -> None:
    """The helper's bytes as they are, to the streams of the moment."""
    for data, stream in ((printed.out, sys.stdout), (printed.err, sys.stderr)):
        if not data:
            continue
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            stream.flush()
            binary.write(data)
            binary.flush()
        else:                           # a progress bar's stream, say: text only
            stream.write(data.decode("utf-8", "replace"))


def run(count: int, work: Work, merge: Callable[[int, Any], None],
        tick: Callable[[], None] | None = None, helper: bool = True) -> None:
    """`merge(i, work(i, tick))` for every i in range(count), in order of i.

    With `helper`, a forked process does part of the work: `work(i, None)` there, and
    its outcome must pickle. `tick()` is called now and then while this process waits.
    `work` should not raise (the synth's keeps its errors in its outcome, to report them
    in order): what it or `tick` raises here stops the helper and is raised at once."""
    merger = _InOrder(merge)
    shared = None
    queue_r, queue_w = (os.pipe() if helper and count > 1 else (-1, -1))
    results_r = results_w = -1
    try:
        if queue_w >= 0 and grow(queue_w, RECORD.size * count):
            write_all(queue_w, b"".join(RECORD.pack(index) for index in range(count)))
            close(queue_w)
            results_r, results_w = os.pipe()
            grow(results_w, 1 << 20)        # fewer stalls in the helper; not needed
            pid = _fork_helper(queue_r, results_r, results_w, work)
            if pid:
                shared = _Shared(merger, queue_r, results_r, pid, work, tick)
                close(results_w)
                results_w = -1
                os.set_blocking(results_r, False)
                shared.run()
                shared.stop()
        for index in range(count):  # all of it alone, or what the helper did not deliver
            if not merger.has(index):
                merger.add(index, work(index, tick))
    except BaseException:
        if shared:
            shared.collect()
        merger.echo_waiting()
        raise
    finally:
        if shared:
            shared.stop()
        close(queue_r, queue_w, results_r, results_w)


class _Capture:
    """The helper's standard output and error, each a file (a program it runs writes
    there too; line-buffered, so a print and a program's output stay in order), emptied
    before each work and read back after it. A process a work leaves running in the
    background writes into a later work's capture, and is killed with the helper."""

    def __init__(self) -> None:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            with tempfile.TemporaryFile() as spool:
                os.dup2(spool.fileno(), fd)
            stream = open(fd, "w", buffering=1, encoding="utf-8",  # noqa: SIM115
                          errors="backslashreplace", closefd=False)
            setattr(sys, name, stream)

    def run(self, work: Work, index: int) -> _Printed:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            os.ftruncate(stream.fileno(), 0)
            os.lseek(stream.fileno(), 0, os.SEEK_SET)
        outcome = work(index, None)
        printed = []
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            printed.append(_read_all(stream.fileno()))
        return _Printed(outcome, *printed)


def _read_all(fd: int) -> bytes:
    chunks, offset = [], 0
    while chunk := os.pread(fd, 1 << 24, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _fork_helper(queue_r: int, results_r: int, results_w: int, work: Work) -> int:
    """The helper's pid, or 0 where none could be forked (a process limit): then this
    process does all the work, as it would on one core."""
    parent = os.getpid()
    # no Ctrl-C between the fork and the bookkeeping that lets `finally` stop it
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        try:
            pid = os.fork()
        except OSError:
            return 0
        if pid == 0:
            _helper(parent, queue_r, results_r, results_w, work, blocked)
        with suppress(OSError):
            os.setpgid(pid, pid)
        return pid
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class _Shared:
    """This process's side while the helper works: take indices from the queue until it
    is empty, read what the helper sends between stages, then wait for it to end."""

    def __init__(self, merger: _InOrder, queue: int, results: int, pid: int, work: Work,
                 tick: Callable[[], None] | None) -> None:
        self.merger, self.queue, self.results, self.pid = merger, queue, results, pid
        self.work, self.tick = work, tick
        self.got, self.redo = bytearray(), []     # redo: a heap, the lowest index first
        self.reading = True

    def run(self) -> None:
        while (index := heapq.heappop(self.redo) if self.redo else _take(self.queue)) \
                is not None:
            self.merger.add(index, self.work(index, self.between))
            self.between()
        while self.reading or self.redo:
            if self.redo:
                index = heapq.heappop(self.redo)
                self.merger.add(index, self.work(index, self.between))
            else:
                select.select([self.results], [], [], WAIT)
            self.between()

    def between(self) -> None:
        if self.tick:
            self.tick()
        if not self.reading:
            return
        ended = self.pid and os.waitid(os.P_PID, self.pid,
                                       os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        self.reading = read_available(self.results, self.got) and not ended
        try:
            found = messages(self.got)
        except Exception:               # noqa: BLE001 — unreadable: done again here
            found, self.reading = [], False
        for failed, index, outcome in found:
            if failed:                  # it raised there: done again here, to raise here
                heapq.heappush(self.redo, index)
            else:                       # all kept before any is merged
                self.merger.keep(index, outcome)
        self.merger.drain()
        if not self.reading:
            self.stop()

    def collect(self) -> None:
        """What the helper has sent so far, kept without merging (the synth stops early
        and prints what the helper printed for it)."""
        with suppress(Exception):
            if self.reading:
                read_available(self.results, self.got)
            for failed, index, outcome in messages(self.got):
                if not failed:
                    self.merger.keep(index, outcome)

    def stop(self) -> None:
        """Kill the helper's process group (with any render it forked) and reap it."""
        if self.pid:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with suppress(ChildProcessError):   # SIGCHLD ignored: reaped already
                os.waitpid(self.pid, 0)
            self.pid = 0
        self.reading = False


def _take(queue: int) -> int | None:
    record = os.read(queue, RECORD.size)
    return RECORD.unpack(record)[0] if record else None


def _helper(parent: int, queue: int, results_r: int, results: int, work: Work,
            blocked: set) -> None:
    code = 1
    try:
        become_worker(blocked, parent)
        close(results_r)
        capture = _Capture()
        while (index := _take(queue)) is not None:
            try:
                message = frame((False, index, capture.run(work, index)))
            except BaseException:       # noqa: BLE001 — the parent does it again and reports
                message = frame((True, index, None))
            write_all(results, message)
        code = 0
    finally:
        os._exit(code)
