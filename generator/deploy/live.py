"""How a run shows its progress: a live table on a terminal, timestamped lines in CI.

Both are Consoles (`console.py`), fed the same messages by the deployer's threads, so
what a run says does not depend on where it is shown. On a terminal, rich redraws one
row per stack (state, resources done of total, elapsed time, the current event) and
prints change sets and reviews above it; a question stops the live view while it is
asked. Without a terminal (CI, a pipe), each message is one line with the time, so a CI
log shows when each stack did what. The clock is passed in, so both are testable.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .console import Console

EVENT = re.compile(r"(?P<id>[A-Za-z0-9]+) (?P<status>[A-Z_]+_(COMPLETE|FAILED|IN_PROGRESS))")


def make_console(out=None) -> Console:
    """The console for the command line: live on a terminal, timestamped lines else."""
    stream = out or sys.stdout
    if stream.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb":
        return LiveConsole(stream)
    return StampedConsole(stream)


class StampedConsole(Console):
    """Plain lines, each with the wall-clock time: `12:00:03 [stack] message`."""

    def __init__(self, out=None, ask=None, now: Callable[[], str] | None = None) -> None:
        super().__init__(out, ask)
        self._now = now or (lambda: time.strftime("%H:%M:%S"))

    def say(self, stack: str, message: str) -> None:
        with self._lock:
            print(f"{self._now()} [{stack}] {message}", file=self.out, flush=True)


@dataclass
class Row:
    """One stack's line in the live view."""

    started: float
    total: int = 0
    done: set[str] = field(default_factory=set)
    state: str = "planning"
    event: str = ""
    ended: float | None = None


class LiveConsole(Console):
    """A live table, one row per stack, redrawn by rich while the run goes on."""

    def __init__(self, out=None, ask=None, clock: Callable[[], float] = time.monotonic,
                 live: bool = True) -> None:
        from rich.console import Console as RichConsole

        super().__init__(out, ask)
        self.rows: dict[str, Row] = {}
        self._clock = clock
        self._rich = RichConsole(file=self.out, force_terminal=live or None)
        self._live = None
        if live:
            from rich.live import Live

            self._live = Live(get_renderable=self.table, console=self._rich,
                              refresh_per_second=8, redirect_stdout=False)

    def __enter__(self) -> LiveConsole:
        if self._live:
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live:
            self._live.stop()

    def begin(self, stack: str, total: int) -> None:
        with self._lock:
            self.rows[stack] = Row(self._clock(), total)

    def say(self, stack: str, message: str) -> None:
        with self._lock:
            row = self.rows.setdefault(stack, Row(self._clock()))
            found = EVENT.match(message)
            if found:
                row.state = "deploying"
                if found["status"].endswith("COMPLETE") and found["id"] != stack:
                    row.done.add(found["id"])
            else:
                row.state, row.ended = _state(message, row.state), (
                    self._clock() if _final(message) else row.ended)
            row.event = message

    def lines(self, lines: list[str]) -> None:
        from rich.text import Text

        with self._lock:
            self._rich.print(Text("\n".join(lines)))

    def ask(self, question: str) -> str:
        if self._live:
            self._live.stop()
        try:
            return super().ask(question)
        finally:
            if self._live:
                self._live.start()

    def table(self):
        """The live view: stack, state, resources done/total, elapsed, current event."""
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for column in ("stack", "state", "resources", "elapsed", "event"):
            table.add_column(column, overflow="ellipsis", no_wrap=True)
        for stack, row in list(self.rows.items()):
            elapsed = (row.ended or self._clock()) - row.started
            total = f"{len(row.done)}/{row.total}" if row.total else "-"
            table.add_row(stack, row.state, total, f"{elapsed:.1f} s", row.event[:80])
        return table


def _final(message: str) -> bool:
    return message.startswith(("unchanged", "no changes", "FAILED", "not executed")) \
        or " complete in " in message


def _state(message: str, before: str) -> str:
    if message.startswith("FAILED"):
        return "failed"
    if message.startswith(("unchanged", "no changes")):
        return "unchanged"
    if message.startswith("not executed"):
        return "not executed"
    if " complete in " in message:
        return "done"
    return before
