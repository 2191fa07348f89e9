"""Progress lines and questions, shared by the threads that deploy stacks."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


class Console:
    """Thread-safe progress lines, one prefix per stack, and serialized questions."""

    def __init__(self, out=None, ask: Callable[[str], str] | None = None) -> None:
        self._out, self._ask, self._lock = out, ask, threading.Lock()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def begin(self, stack: str, total: int) -> None:
        """A stack's flow starts; it has `total` resources (a live view counts them)."""

    @property
    def out(self):
        return self._out or sys.stdout

    def say(self, stack: str, message: str) -> None:
        with self._lock:
            print(f"[{stack}] {message}", file=self.out, flush=True)

    def lines(self, lines: list[str]) -> None:
        with self._lock:
            print("\n".join(lines), file=self.out, flush=True)

    def ask(self, question: str) -> str:
        with self._lock:
            return (self._ask or input)(question).strip()
