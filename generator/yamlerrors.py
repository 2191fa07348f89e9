"""YAML syntax errors told where their cause is, not where the parser gave up.

The parser notices an unclosed quote at the end of the file and a missing `:` on the
line after it. Its context mark often points at the cause (the opening quote or
bracket); where it does not, the cause is found on the lines before. Messages say what
to add or change.
"""

from __future__ import annotations

import re

import yaml

QUOTED = "while scanning a quoted scalar"
FLOW = re.compile(r"while parsing a flow (sequence|mapping)")
CLOSER = {"sequence": ("[", "]"), "mapping": ("{", "}")}


def explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """(line, column, message), 1-based in `text`, for a parser error."""
    context, problem = exc.context or "", exc.problem or ""
    where = exc.problem_mark or exc.context_mark
    line, col = (where.line + 1, where.column + 1) if where else (1, 1)
    start = exc.context_mark
    if context == QUOTED and start is not None:
        quote = _char(text, start.line, start.column) or '"'
        return (start.line + 1, start.column + 1,
                f"invalid YAML: this quoted text is never closed; add the closing {quote}")
    flow = FLOW.match(context)
    if flow and start is not None:
        opener, closer = CLOSER[flow.group(1)]
        return (start.line + 1, start.column + 1,
                f"invalid YAML: the '{opener}' here is not closed (or an item in it lacks "
                f"a ','); add '{closer}'")
    if context == "while parsing a flow node":
        opened = _unclosed(text, line - 1, col - 1)
        if opened is not None:
            (at_line, at_col), opener = opened
            closer = "]" if opener == "[" else "}"
            return (at_line + 1, at_col + 1,
                    f"invalid YAML: the '{opener}' here is not closed; add '{closer}'")
    if context == "while scanning a simple key" and start is not None:
        return _missing_colon(text, start.line + 2, start.column + 1)
    if "mapping values are not allowed" in problem:
        return _missing_colon(text, line, col)
    if "undefined alias" in problem:
        name = re.match(r"\*([^\s,\]}]+)", _rest(text, line - 1, col - 1))
        alias = name.group(1) if name else "?"
        return (line, col, f"invalid YAML: the alias *{alias} names no anchor &{alias} "
                           f"defined before it; define it, or quote the text if '*' is meant")
    if context == "while parsing a block mapping" and "expected key" in problem:
        return (line, col, "invalid YAML: this line's indentation does not fit the lines "
                           f"above (the mapping started at line {start.line + 1}, column "
                           f"{start.column + 1}); line up keys of one mapping")
    return line, col, "invalid YAML: " + " ".join(p for p in (context, problem) if p)


def _unclosed(text: str, line: int, col: int) -> tuple[tuple[int, int], str] | None:
    """The innermost '[' or '{' still open before (line, col), 0-based: quotes and
    comments skipped."""
    stack: list[tuple[tuple[int, int], str]] = []
    for number, row in enumerate(text.splitlines()[:line + 1]):
        quote = ""
        for column, char in enumerate(row if number < line else row[:col]):
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#" and (column == 0 or row[column - 1] in " \t"):
                break
            elif char in "[{":
                stack.append(((number, column), char))
            elif char in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def _missing_colon(text: str, line: int, col: int) -> tuple[int, int, str]:
    """`key value` followed by `key: value` on the next line: the first lacks its ':'."""
    lines = text.split("\n")
    for number in range(line - 1, 0, -1):
        previous = lines[number - 1]
        body = previous.split(" #", 1)[0].strip()
        if not body or body.startswith("#"):
            continue
        if ":" not in body and not body.startswith(("-", "[", "{", "'", '"')):
            return (number, _indent(previous) + 1, f"invalid YAML: '{body}' needs a ':' "
                                                  "(a key ends with ':', e.g. 'name: value')")
        row = lines[line - 1] if line <= len(lines) else ""
        over = _indented_under_a_value(previous, number, row)
        if over:
            return (line, _indent(row) + 1, over)
        break
    return (line, col, "invalid YAML: a second ':' on one line; quote the value if it holds "
                       "': ' (e.g. \"a: b\")")


KEY_WITH_VALUE = re.compile(r"\s*(?:- )?([^\s:#'\"][^:#]*?):\s+\S")


def _indent(row: str) -> int:
    return len(row) - len(row.lstrip())


def _indented_under_a_value(previous: str, number: int, row: str) -> str | None:
    """`key: value` (on line `number`) then a deeper `other: ...`: the second line is
    over-indented, as a key that has a value cannot hold keys too."""
    found = KEY_WITH_VALUE.match(previous)
    if not found or _indent(row) <= _indent(previous) or ":" not in row:
        return None
    key = found.group(1).strip()
    return (f"invalid YAML: this line is indented deeper than '{key}' on line {number}, "
            f"which already has a value; line it up with '{key}' (or, to nest it under "
            f"'{key}', move that value onto lines of its own)")


def _char(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line][column] if line < len(lines) and column < len(lines[line]) else ""


def _rest(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line][column:] if line < len(lines) else ""
