"""A synth of many apps on two cores: a forked helper builds apps beside this process.

Apps are independent until their results are merged, so a synth without running lint
workers forks one helper before it loads a blueprint. The two share a queue of app
indices: a pipe filled and closed before the fork, from which each takes the next index
with one 4-byte read (whole, on a pipe), so neither waits for the other and no lock is
shared. The helper sends each app's outcome back as a message (`pipes`); this process
reads them between its own stages and merges every outcome in index order as soon as all
before it are in, so the result is the same, byte for byte, as one process would make.

Whatever the helper did not deliver (it raised on an app, or it was killed) this process
does itself: a bug or a user mistake is then reported exactly as a serial synth reports
it. The helper runs in a process group of its own and ignores Ctrl-C, which reaches this
process; leaving early (an error, Ctrl-C) kills it.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from .pipes import close, detach_from_terminal, frame, grow, messages, read_available, write_all

RECORD = struct.Struct(">I")
WAIT = 0.01                 # seconds between ticks while only the helper is working
Work = Callable[[int, "Callable[[], None] | None"], Any]


def can_fork() -> bool:
    """Two cores, fork, and the main thread (forking another thread's process is unsafe)."""
    return ((os.cpu_count() or 1) >= 2 and hasattr(os, "fork")
            and threading.current_thread() is threading.main_thread())


class _InOrder:
    """Merges outcomes by index, each as soon as every one before it is in."""

    def __init__(self, merge: Callable[[int, Any], None]) -> None:
        self.merge, self.waiting, self.next = merge, {}, 0

    def add(self, index: int, outcome: Any) -> None:
        self.waiting[index] = outcome
        while self.next in self.waiting:
            self.merge(self.next, self.waiting.pop(self.next))
            self.next += 1

    def has(self, index: int) -> bool:
        return index < self.next or index in self.waiting


def run(count: int, work: Work, merge: Callable[[int, Any], None],
        tick: Callable[[], None] | None = None, helper: bool = True) -> None:
    """`merge(i, work(i, tick))` for every i in range(count), in order of i.

    With `helper`, a forked process does part of the work: `work(i, None)` there, and
    its outcome must pickle. `tick()` is called now and then while this process waits."""
    merger = _InOrder(merge)
    if not helper or count < 2:
        for index in range(count):
            merger.add(index, work(index, tick))
        return
    queue_r, queue_w = os.pipe()
    results_r = results_w = -1
    pid = 0
    try:
        if not grow(queue_w, RECORD.size * count):
            close(queue_w)
            for index in range(count):
                merger.add(index, work(index, tick))
            return
        write_all(queue_w, b"".join(RECORD.pack(index) for index in range(count)))
        close(queue_w)
        results_r, results_w = os.pipe()
        grow(results_w, 1 << 20)        # fewer stalls in the helper; not needed
        # no Ctrl-C between the fork and the bookkeeping that lets `finally` stop it
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
            if pid == 0:
                _helper(queue_r, results_r, results_w, work, blocked)
            with suppress(OSError):
                os.setpgid(pid, pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        close(results_w)
        results_w = -1
        os.set_blocking(results_r, False)
        _share(merger, queue_r, results_r, work, tick)
        _reap(pid)
        pid = 0
        for index in range(count):      # what the helper took but did not deliver
            if not merger.has(index):
                merger.add(index, work(index, tick))
    finally:
        if pid:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _reap(pid)
        close(queue_r, results_r, results_w)


def _share(merger: _InOrder, queue: int, results: int, work: Work,
           tick: Callable[[], None] | None) -> None:
    """Take indices from the queue until it is empty, then wait for the helper to end."""
    got, redo = bytearray(), []
    helper_on = True

    def between() -> None:
        nonlocal helper_on
        if tick:
            tick()
        if helper_on:
            helper_on = read_available(results, got)
        for index, outcome in messages(got):
            if outcome is None:         # it raised there: raise it here, as a synth would
                redo.append(index)
            else:
                merger.add(index, outcome)

    while True:
        index = redo.pop() if redo else _take(queue)
        if index is None:
            break
        merger.add(index, work(index, between))
        between()
    while helper_on or redo:
        if redo:
            index = redo.pop()
            merger.add(index, work(index, between))
        else:
            select.select([results], [], [], WAIT if tick else None)
        between()


def _take(queue: int) -> int | None:
    record = os.read(queue, RECORD.size)
    return RECORD.unpack(record)[0] if record else None


def _helper(queue: int, results_r: int, results: int, work: Work, blocked: set) -> None:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.setpgid(0, 0)
        detach_from_terminal()
        close(results_r)
        while (index := _take(queue)) is not None:
            try:
                message = frame((index, work(index, None)))
            except BaseException:       # noqa: BLE001 — the parent does it again and reports
                message = frame((index, None))
            write_all(results, message)
        code = 0
    finally:
        os._exit(code)


def _reap(pid: int) -> None:
    with suppress(ChildProcessError):   # SIGCHLD ignored: reaped already
        os.waitpid(pid, 0)
