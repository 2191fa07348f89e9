"""cfn-lint in worker processes that start while the synth is still building.

Importing cfn-lint and building its rules costs about 0.6 s, and linting costs ~80 ms per
template, so a cold synth is mostly lint. The first template that misses the lint cache
forks a *lint host*: it imports cfn-lint and builds the rules on the second core while the
synth goes on, freezes them (`gc.freeze()`: no collection ever writes to, and so copies,
those pages) and forks its siblings, which share the rules page for page. All of them take
templates as the synth hands them over, so linting overlaps building from the first
template on, and the workers are forked while the synth is still small: what it builds
afterwards is never copied into them.

Jobs and results travel as length-prefixed pickles over two pipes; the parent never blocks
on them while it builds (its end of both is non-blocking). Each worker also holds the
write end of its own *alive* pipe: when a worker dies, its pipe reads end-of-file at once,
so a killed worker is reported instead of waited for forever. The workers run in their own
process group, and stopping them early (a blueprint error, Ctrl-C) kills that group: no
worker is ever left holding a lock the others wait on.
"""

from __future__ import annotations

import gc
import heapq
import os
import pickle
import select
import signal
import struct
import traceback
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from .errors import GeneratorError

HEADER = struct.Struct(">I")
READ_SIZE = 1 << 16


class LintWorkerDied(GeneratorError):
    """A lint worker stopped without finishing its work (killed, or out of memory): not a
    bug to report with a traceback, but the machine's doing (exit code 1)."""


def _frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def _read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from a blocking fd, or None at end-of-file before the first byte."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            if left == size:
                return None
            raise EOFError("a lint pipe closed inside a message")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class LintPool:
    """Workers that run `work(job)` on each submitted job; results come back by index.

    `prepare()` runs once in the host before it forks its siblings (building cfn-lint's
    rules), so they share its result. Use as a context manager: leaving it without
    `results()` (an error, Ctrl-C) kills the workers."""

    def __init__(self, workers: int, prepare: Callable[[], Any],
                 work: Callable[[Any], Any]) -> None:
        self.workers, self.prepare, self.work = max(1, workers), prepare, work
        self.host = 0
        self.submitted = 0
        self._pending: list[tuple[int, int, Any]] = []   # a heap: the costliest first
        self._framed = 0                 # jobs handed to the pipe (or on their way in)
        self._ready = False              # the host has built the rules: hand jobs out
        self._out = bytearray()
        self._in = bytearray()
        self._results: dict[int, Any] = {}
        self._done: set[int] = set()
        self._alive: dict[int, int] = {}          # read end → worker number
        self._jobs = self._res = -1

    # the parent's side ---------------------------------------------------------------

    def start(self) -> None:
        """Fork the lint host now (it starts building rules) rather than on the first job:
        for a synth that will surely lint, while the parent is still small."""
        if not self.host:
            self._start()

    def submit(self, job: Any, cost: int = 0) -> int:
        """Queue a job (the workers start on the first); returns its index.

        Jobs wait here until the host has built the rules, then at most two per worker
        wait in the pipe, the costliest first: no worker is left with a big one at the
        end while the other has nothing to do."""
        self.start()
        index = self.submitted
        self.submitted += 1
        heapq.heappush(self._pending, (-cost, index, job))
        self._pump(0)
        return index

    def results(self) -> list[Any]:
        """Every submitted job's result, in order of submission (waits for them)."""
        if not self.host:
            return []
        while self._out or self._pending:
            self._pump(None)
        os.close(self._jobs)           # end of jobs: each worker reads end-of-file and stops
        self._jobs = -1
        while len(self._results) < self.submitted:
            self._pump(None)
        self._stop(kill=False)
        return [self._results[index] for index in range(self.submitted)]

    def __enter__(self) -> LintPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.host:
            self._stop(kill=True)

    def _start(self) -> None:
        jobs_r, jobs_w = os.pipe()
        res_r, res_w = os.pipe()
        alive = [os.pipe() for _ in range(self.workers)]
        import multiprocessing

        context = multiprocessing.get_context("fork")
        locks = context.Lock(), context.Lock()      # reading a job, writing a result
        pid = os.fork()
        if pid == 0:                                 # the lint host
            code = 1
            try:
                os.setpgid(0, 0)
                for fd in (jobs_w, res_r, *(r for r, _ in alive)):
                    os.close(fd)
                code = self._host(jobs_r, res_w, [w for _, w in alive], locks)
            finally:
                os._exit(code)
        with suppress(OSError):
            os.setpgid(pid, pid)                     # also here: no race with the child's
        self.host = pid
        for fd in (jobs_r, res_w, *(w for _, w in alive)):
            os.close(fd)
        self._jobs, self._res = jobs_w, res_r
        os.set_blocking(jobs_w, False)
        os.set_blocking(res_r, False)
        self._alive = {r: number for number, (r, _) in enumerate(alive)}

    def _pump(self, timeout: float | None) -> None:
        """Write what jobs the pipe takes and read what results there are; with a timeout
        of None, wait until one of the two moves."""
        writing = [self._jobs] if self._jobs >= 0 and (self._out or self._room()) else []
        reading = [self._res, *self._alive] if self._res >= 0 else [*self._alive]
        readable, writable, _ = select.select(reading, writing, [], timeout)
        if writable:
            self._write_jobs()
        if self._res in readable:
            self._read_results()
        for fd in readable:
            if fd in self._alive:
                self._read_results()            # its last words come before its end
                number = self._alive.pop(fd)
                os.close(fd)
                if number not in self._done:
                    self._stop(kill=True)
                    raise LintWorkerDied(
                        f"cfn-lint worker {number + 1} of {self.workers} stopped before "
                        "its work was done (killed, or out of memory?); nothing was "
                        "written: run the synth again, or with fewer stacks at a time")

    def _room(self) -> bool:
        waiting = self._framed - len(self._results)
        return self._ready and bool(self._pending) and waiting < 2 * self.workers

    def _write_jobs(self) -> None:
        while self._out or self._room():
            if not self._out:
                _, index, job = heapq.heappop(self._pending)
                self._out += _frame((index, job))
                self._framed += 1
            try:
                written = os.write(self._jobs, self._out)
            except BlockingIOError:
                return
            del self._out[:written]
            if self._out:
                return                   # the pipe is full

    def _read_results(self) -> None:
        while self._res >= 0:
            try:
                chunk = os.read(self._res, READ_SIZE)
            except BlockingIOError:
                break
            if not chunk:                # every worker has gone
                os.close(self._res)
                self._res = -1
                if len(self._results) < self.submitted and not self._alive:
                    self._stop(kill=True)
                    raise LintWorkerDied("the cfn-lint workers stopped before their "
                                         "work was done")
                break
            self._in += chunk
        while len(self._in) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._in)
            if len(self._in) < HEADER.size + size:
                break
            message = pickle.loads(self._in[HEADER.size:HEADER.size + size])
            del self._in[:HEADER.size + size]
            kind, number, value = message
            if kind == "ready":
                self._ready = True
            elif kind == "bye":
                self._done.add(number)
            elif kind == "failed":
                self._stop(kill=True)
                raise RuntimeError(f"cfn-lint failed on a template:\n{value}")
            else:
                self._results[number] = value

    def _stop(self, kill: bool) -> None:
        if kill:
            with suppress(ProcessLookupError):
                os.killpg(self.host, signal.SIGKILL)
        os.waitpid(self.host, 0)
        self.host = 0
        for fd in (self._jobs, self._res, *self._alive):
            if fd >= 0:
                os.close(fd)
        self._jobs = self._res = -1
        self._alive = {}

    # the workers' side ---------------------------------------------------------------

    def _host(self, jobs: int, results: int, alive: list[int], locks) -> int:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        gc.disable()             # building the rules makes ~10^6 objects and no garbage
        try:
            self.prepare()
        except Exception:                         # noqa: BLE001 — reported, not swallowed
            with locks[1]:
                _write_all(results, _frame(("failed", -1, traceback.format_exc())))
            return 1
        gc.freeze()              # the rules: shared with the siblings, never scanned again
        gc.enable()              # but what linting leaves behind is collected
        siblings = []
        for number in range(1, len(alive)):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    for other, fd in enumerate(alive):
                        if other != number:
                            os.close(fd)
                    code = self._serve(number, jobs, results, locks)
                finally:
                    os._exit(code)
            siblings.append(pid)
            os.close(alive[number])
        with locks[1]:
            _write_all(results, _frame(("ready", 0, None)))
        code = self._serve(0, jobs, results, locks)
        for pid in siblings:
            os.waitpid(pid, 0)
        return code

    def _serve(self, number: int, jobs: int, results: int, locks) -> int:
        reading, writing = locks
        while True:
            with reading:
                header = _read_exactly(jobs, HEADER.size)
                body = _read_exactly(jobs, HEADER.unpack(header)[0]) if header else None
            if body is None:
                break
            index, job = pickle.loads(body)
            try:
                message = ("done", index, self.work(job))
            except Exception:                     # noqa: BLE001 — reported, not swallowed
                message = ("failed", index, traceback.format_exc())
            with writing:
                _write_all(results, _frame(message))
        with writing:
            _write_all(results, _frame(("bye", number, None)))
        return 0
