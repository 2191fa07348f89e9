"""One error type for everything a user can get wrong, always with its location.

Every mistake in a blueprint is reported as ``file:line:col: key.path: message``. The
loader and validators collect errors instead of stopping at the first, so one run tells
the user everything that needs fixing; the CLI prints them and exits 1.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Mark:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class GeneratorError(Exception):
    """Base class of every error the CLI reports without a traceback."""


class UsageError(GeneratorError):
    """The command asked for something that does not exist (exit code 2)."""


@dataclass(frozen=True)
class Problem:
    """One user mistake: where, which key, what is wrong and what to do."""

    mark: Mark | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"


class BlueprintError(GeneratorError):
    """One or more problems found in the blueprints; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_order)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):
        return type(self), (self.problems,)


def _order(problem: Problem) -> tuple:
    mark = problem.mark or Mark("", 0, 0)
    return (mark.file, mark.line, mark.col, problem.path, problem.message)


class Problems:
    """Collects problems during a pass; `check()` raises them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, mark: Mark | None, path: str, message: str) -> None:
        self.items.append(Problem(mark, path, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def check(self) -> None:
        if self.items:
            raise BlueprintError(list(dict.fromkeys(self.items)))


def did_you_mean(word: str, choices) -> str:
    """A '; did you mean X?' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
