"""cfn-lint in worker processes that start while the synth is still building.

Importing cfn-lint and building its rules costs about 0.45 s, and linting ~50–80 ms per
template, so a cold synth is mostly lint. The first template that misses the lint cache
(or the start of a synth that will surely miss) forks a *lint host*: it builds the rules
on the second core while the synth goes on, freezes them (`gc.freeze()`: no collection
ever writes to, and so copies, those pages) and forks its siblings, which share the rules
page for page. Each worker takes templates as the synth hands them over, so linting
overlaps building, and the workers are forked while the synth is still small: what it
builds afterwards is never copied into them.

Every worker has a pipe for its jobs and one for its results, so no lock is shared and a
dying worker is seen at once: its results pipe reads end-of-file before it said goodbye.
Messages are length-prefixed pickles; the parent's ends are non-blocking and it hands out
at most WINDOW jobs per worker, the costliest first, so it never waits on a pipe while it
builds and no worker is left with a big template at the end. The workers run in a
process group of their own (Ctrl-C at a terminal reaches only the parent); stopping early
(a blueprint error, Ctrl-C) kills that group, and a synth that is killed outright takes
its host with it, and the host its sibling (PR_SET_PDEATHSIG on Linux).
"""

from __future__ import annotations

import gc
import heapq
import os
import select
import signal
import threading
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from .errors import GeneratorError
from .pipes import (
    become_worker,
    die_with_parent,
    frame,
    messages,
    read_available,
    read_message,
    write_all,
)
from .pipes import close as _close  # LintPool has a close() of its own

WINDOW = 2                # jobs handed to one worker at a time while the synth builds
                          # (one running, one waiting for it); one once it is done


class LintWorkerDied(GeneratorError):
    """A lint worker stopped without finishing its work (killed, or out of memory): not a
    bug to report with a traceback, but the machine's doing (exit code 1)."""


class LintCrashed(RuntimeError):
    """The work raised in a worker (`index` -1: while preparing); `details` is its
    traceback there."""

    def __init__(self, index: int, details: str) -> None:
        super().__init__(details)
        self.index, self.details = index, details


@dataclass
class _Worker:
    """The parent's view of one worker: its two pipe ends and what is on the way."""

    number: int
    jobs: int                       # write end, non-blocking; -1 once closed
    results: int                    # read end, non-blocking; -1 at end-of-file
    out: bytearray = field(default_factory=bytearray)
    got: bytearray = field(default_factory=bytearray)
    in_flight: int = 0
    ready: bool = False
    said_bye: bool = False


class LintPool:
    """Workers that run `work(job)` on each submitted job; results come back by index.

    `prepare()` runs once in the host before it forks its siblings (building cfn-lint's
    rules), so they share its result. Use as a context manager: leaving it without
    `results()` (an error, Ctrl-C) kills the workers."""

    def __init__(self, workers: int, prepare: Callable[[], Any],
                 work: Callable[[Any], Any]) -> None:
        self.workers, self.prepare, self.work = max(1, workers), prepare, work
        self.host = 0
        self._reset()

    def _reset(self) -> None:
        self.submitted = 0
        self._pending: list[tuple[int, int, Any]] = []    # a heap: the costliest first
        self._results: dict[int, Any] = {}
        self._mine: list[_Worker] = []
        self._closing = False

    # the parent's side ---------------------------------------------------------------

    def start(self) -> None:
        """Fork the lint host now (it starts preparing) rather than on the first job."""
        if self.host:
            return
        self._reset()
        pipes: list[int] = []
        try:
            for _ in range(self.workers):
                pipes += [*os.pipe(), *os.pipe()]    # jobs read/write, results read/write
        except OSError:
            _close(*pipes)
            raise
        ends = [tuple(pipes[i:i + 4]) for i in range(0, len(pipes), 4)]
        # no Ctrl-C between the fork and the bookkeeping that lets __exit__ stop the host
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        # the host dies with this process; Linux's signal follows the forking *thread*,
        # so only from the main one (a library user's thread may end while it lints)
        parent = os.getpid() if threading.current_thread() is threading.main_thread() \
            else None
        try:
            pid = os.fork()
            if pid == 0:                                         # the lint host
                code = 1
                try:
                    become_worker(blocked, parent)
                    _close(*(fd for jr, jw, rr, rw in ends for fd in (jw, rr)))
                    code = self._host([(jr, rw) for jr, _, _, rw in ends])
                finally:
                    os._exit(code)
            with suppress(OSError):
                os.setpgid(pid, pid)            # here too: no race with the child's own
            self.host = pid
            _close(*(fd for jr, jw, rr, rw in ends for fd in (jr, rw)))
            self._mine = [_Worker(n, jw, rr) for n, (_, jw, rr, _) in enumerate(ends)]
            for worker in self._mine:
                os.set_blocking(worker.jobs, False)
                os.set_blocking(worker.results, False)
        except BaseException:
            if not self.host:
                _close(*pipes)
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def submit(self, job: Any, cost: int = 0) -> int:
        """Queue a job (the workers start on the first); returns its index."""
        self.start()
        index = self.submitted
        self.submitted += 1
        heapq.heappush(self._pending, (-cost, index, job))
        self.pump()
        return index

    def pump(self) -> None:
        """Hand out what jobs the workers have room for and take in what results there
        are, without waiting: call it now and then while building."""
        if self.host:
            self._pump(0)

    def results(self) -> list[Any]:
        """Every submitted job's result, in order of submission (waits for them)."""
        if not self.host:
            return []
        self._closing = True
        if self.submitted == 0:
            self._stop(kill=True)               # nothing to lint: not worth waiting for
            return []
        while len(self._results) < self.submitted:
            self._pump(None)
        self._stop(kill=False)
        return [self._results[index] for index in range(self.submitted)]

    def __enter__(self) -> LintPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the workers if they still run (a no-op once `results()` is done)."""
        if self.host:
            self._stop(kill=True)

    def _has_room(self, worker: _Worker) -> bool:
        """While the synth builds, the parent looks at the pipes only between stacks, so
        each worker holds a job in reserve; once it waits on them, a job goes to
        whichever worker is free first."""
        limit = 1 if self._closing else WINDOW
        return worker.ready and bool(self._pending) and worker.in_flight < limit

    def _pump(self, timeout: float | None) -> None:
        if self._closing and not self._pending:
            for worker in self._mine:         # all handed out: end of jobs for each
                if worker.jobs >= 0 and not worker.out:
                    _close(worker.jobs)
                    worker.jobs = -1
        reading = [w.results for w in self._mine if w.results >= 0]
        writing = [w.jobs for w in self._mine
                   if w.jobs >= 0 and (w.out or self._has_room(w))]
        if not reading and not writing:
            self._stop(kill=True)
            raise LintWorkerDied("the cfn-lint workers stopped before their work was done")
        readable, writable, _ = select.select(reading, writing, [], timeout)
        for worker in self._mine:
            if worker.results in readable:
                self._take(worker)
        for worker in self._mine:
            if worker.jobs in writable:
                self._feed(worker)

    def _feed(self, worker: _Worker) -> None:
        while worker.out or self._has_room(worker):
            if not worker.out:
                _, index, job = heapq.heappop(self._pending)
                worker.out += frame((index, job))
                worker.in_flight += 1
            try:
                written = os.write(worker.jobs, worker.out)
            except BlockingIOError:
                return
            del worker.out[:written]
            if worker.out:
                return                          # its pipe is full

    def _take(self, worker: _Worker) -> None:
        if not read_available(worker.results, worker.got):     # the worker has gone
            _close(worker.results)
            worker.results = -1
        for kind, index, value in messages(worker.got):
            if kind == "ready":
                worker.ready = True
            elif kind == "bye":
                worker.said_bye = True
            elif kind == "failed":
                self._stop(kill=True)
                raise LintCrashed(index, value)
            else:
                self._results[index] = value
                worker.in_flight -= 1
        if worker.results < 0 and not worker.said_bye:
            self._stop(kill=True)
            raise LintWorkerDied(
                f"cfn-lint worker {worker.number + 1} of {self.workers} stopped before its "
                "work was done (killed, or out of memory?); nothing was written: run the "
                "synth again, or with fewer stacks at a time")

    def _stop(self, kill: bool) -> None:
        host, self.host = self.host, 0
        try:
            if kill:
                with suppress(ProcessLookupError):
                    os.killpg(host, signal.SIGKILL)
            with suppress(ChildProcessError):   # SIGCHLD ignored: reaped already
                os.waitpid(host, 0)
            with suppress(ChildProcessError):   # siblings, where they were left to us
                while os.waitpid(-host, os.WNOHANG)[0]:
                    pass
        finally:
            for worker in self._mine:
                _close(worker.jobs, worker.results)
            self._mine = []

    # the workers' side ---------------------------------------------------------------

    def _host(self, ends: list[tuple[int, int]]) -> int:
        gc.disable()             # preparing makes ~10^6 objects and no garbage
        try:
            self.prepare()
        except Exception:                         # noqa: BLE001 — reported, not swallowed
            write_all(ends[0][1], frame(("failed", -1, traceback.format_exc())))
            return 1
        gc.freeze()              # what was prepared: shared, never scanned again
        gc.enable()              # but what linting leaves behind is collected
        siblings, host = [], os.getpid()
        try:
            for number in range(1, len(ends)):
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        die_with_parent(host)
                        _close(*(fd for other, pair in enumerate(ends) if other != number
                                 for fd in pair))
                        code = self._serve(*ends[number])
                    finally:
                        os._exit(code)
                siblings.append(pid)
                _close(*ends[number])
            return self._serve(*ends[0])
        finally:
            for pid in siblings:
                with suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def _serve(self, jobs: int, results: int) -> int:
        write_all(results, frame(("ready", 0, None)))
        while True:
            message = read_message(jobs)
            if message is None:
                break
            index, job = message
            try:
                message = frame(("done", index, self.work(job)))
            except Exception:                     # noqa: BLE001 — reported, not swallowed
                message = frame(("failed", index, traceback.format_exc()))
            write_all(results, message)
        write_all(results, frame(("bye", 0, None)))
        return 0
