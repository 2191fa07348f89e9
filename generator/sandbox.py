"""Jinja2 for untrusted text: blueprints and site pages arrive in pull requests.

Rendering runs in Jinja2's `ImmutableSandboxedEnvironment` with empty globals: a
template sees only the values it is given (an environment's values and the documented
built-ins `env`, `app`, `region`). Before anything is rendered, the template's syntax
tree is checked, so a blueprint reaching for Python internals (`__globals__`,
`__class__`, `|attr('__init__')`) or for other files (`{% include %}`) is a located
error and is never evaluated, not even in a branch that would not run. What the static
check cannot see (an attribute reached through a value) the sandbox refuses at run time,
and that is reported the same way. Repetition and powers are bounded, so a template
cannot make the synth allocate gigabytes or spin for minutes.
"""

from __future__ import annotations

import os
import pickle
import re
import resource
import select
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_LENGTH = 1_000_000       # characters or items a `*` may produce
MAX_EXPONENT = 1_000         # `x ** n` beyond this is refused
RENDER_SECONDS = 10          # CPU a blueprint's rendering may use
RENDER_MEMORY = 1 << 30      # and memory above what the process holds already
NOT_ALLOWED = "not allowed in a blueprint"
FILE_TAGS = {nodes.Include: "include", nodes.Import: "import",
             nodes.FromImport: "from … import", nodes.Extends: "extends"}


class Sandbox(ImmutableSandboxedEnvironment):
    """A sandboxed environment with nothing in its globals and bounded arithmetic."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        options.setdefault("undefined", jinja2.StrictUndefined)
        options.setdefault("keep_trailing_newline", True)
        super().__init__(**options)
        self.globals.clear()

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT or \
                    isinstance(left, int) and abs(left).bit_length() * abs(right) > 100_000:
                raise SecurityError(f"a power above {MAX_EXPONENT} (or a result above "
                                    f"100,000 bits) is {NOT_ALLOWED}")
            return left ** right
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                    and len(seq) * times > MAX_LENGTH:
                raise SecurityError(f"repeating a value into more than {MAX_LENGTH:,} "
                                    f"characters or items is {NOT_ALLOWED}")
        return left * right

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja2's signature
        """Calls with huge sizes (`'a'.center(10**9)`, `ljust`, `zfill`) are refused."""
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and value > MAX_LENGTH:
                raise SecurityError(f"a size above {MAX_LENGTH:,} is {NOT_ALLOWED}")
        return super().call(__context, __obj, *args, **kwargs)


def isolated(work: Callable[..., Any], *args: Any) -> Any:
    """Run `work(*args)` in a forked child with CPU and memory limits (what a template
    may cost is not knowable in advance: a macro that recurses twice per level, nested
    loops, string building). Its result, or the GeneratorError it raised, comes back;
    a child that hits a limit is a LimitExceeded. Off the main thread (where forking is
    not safe) it runs here."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(os, "fork"):
        return work(*args)
    reader, writer = os.pipe()
    # Ctrl-C waits until the child ignores it and this process is inside the `try` that
    # reaps the child: neither can be left half set up by it. (Held for this thread: in a
    # process with other threads, one of them may take it; the command line has none.)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pid = os.fork()
    except BaseException:
        os.close(reader)
        os.close(writer)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        raise
    if pid == 0:                                         # the child
        os.close(reader)
        _child(work, args, writer, blocked)
    data = _collect(pid, reader, writer, blocked)
    if not data:
        raise LimitExceeded(f"more than {RENDER_SECONDS} s of CPU or "
                            f"{RENDER_MEMORY >> 20} MB of memory")
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value
    raise value


def _collect(pid: int, reader: int, writer: int, blocked: set) -> bytes:
    """What the child sent; it is killed and reaped whatever happens, a second Ctrl-C
    while that is done included (held until it is)."""
    try:
        os.close(writer)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return _read_all(reader, RENDER_SECONDS * 3)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            os.close(reader)
            _reap(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class LimitExceeded(Exception):
    """A template's rendering used more than it may."""


def _child(work: Callable[..., Any], args: tuple, writer: int, blocked: set) -> None:
    try:
        # Ctrl-C at a terminal reaches this child too: it is the parent's to handle (it
        # kills the child and ends with "interrupted"); dying of it here would look, to
        # the parent, like a render over its limits.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (size + RENDER_MEMORY, size + RENDER_MEMORY))
        resource.setrlimit(resource.RLIMIT_CPU, (RENDER_SECONDS, RENDER_SECONDS + 1))
        try:
            outcome = ("ok", work(*args))
        except MemoryError:
            outcome = ("error", LimitExceeded(f"more than {RENDER_MEMORY >> 20} MB of "
                                              "memory"))
        except Exception as exc:  # noqa: BLE001 - sent back to the parent as it is
            outcome = ("error", exc)
        data = pickle.dumps(outcome)
        view = memoryview(data)
        while view:
            view = view[os.write(writer, view):]
    finally:
        os._exit(0)


def _read_all(reader: int, seconds: float) -> bytes:
    chunks, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([reader], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(reader, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    return b""


def _reap(pid: int) -> None:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def forbidden(env: jinja2.Environment, text: str, what: str = "blueprint",
              partials: bool = False) -> list[tuple[int, int, str]]:
    """(line, column, message) for each construct a template may not use.

    With `partials`, `{% include %}` and the like may name files of the template's own
    folder (as quoted, relative names). Raises jinja2.TemplateSyntaxError for text that
    does not parse."""
    found = []
    lines = text.split("\n")
    for node, name, message in _findings(env.parse(text), partials):
        message = message.replace("a blueprint", f"a {what}")
        found.append((node.lineno, _column(lines, node.lineno, name), message))
    return sorted(set(found))


def _findings(tree: nodes.Template, partials: bool
              ) -> Iterator[tuple[nodes.Node, str, str]]:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name = _reached_name(node)
        if name is not None and name.startswith("_"):
            yield node, name, f"'{name}': Python internals are {NOT_ALLOWED}"
    for node in tree.find_all(tuple(FILE_TAGS)):
        tag = FILE_TAGS[type(node)]
        if not partials:
            yield node, tag.split()[0], (f"{{% {tag} %}} is {NOT_ALLOWED}: a blueprint is "
                                         "one file; put shared values in app.yaml")
        elif not _partial_name(node.template):
            written = node.template.value if isinstance(node.template, nodes.Const) else "…"
            yield node, tag.split()[0], (
                f"{{% {tag} %}} of {written!r}: only files of the site folder can be "
                "included, by a quoted relative name such as '_layout.html'")


def _partial_name(template: nodes.Expr) -> bool:
    if not isinstance(template, nodes.Const) or not isinstance(template.value, str):
        return False
    parts = template.value.replace("\\", "/").split("/")
    return template.value[:1] not in ("/", "\\") and "" not in parts and \
        not any(part.startswith(".") for part in parts)


def _reached_name(node: nodes.Node) -> str | None:
    """The attribute or key name a node reaches for, when it is written out."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return str(node.arg.value)
    if isinstance(node, nodes.Filter) and node.name in ("attr", "map", "selectattr",
                                                         "rejectattr", "sort", "groupby"):
        for arg in [*node.args, *(k.value for k in node.kwargs)]:
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str) \
                    and arg.value.startswith("_"):
                return arg.value
    return None


def _column(lines: list[str], line: int, name: str | None) -> int:
    """1-based column of `name` on a line (of the first tag when it is not written)."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    for pattern in ([re.escape(name)] if name else []) + [r"\{[{%]"]:
        found = re.search(pattern, text)
        if found:
            return found.start() + 1
    return 1


def template_line(exc: BaseException) -> int:
    """The template line an exception raised while rendering came from (1 if unknown)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>" or frame.filename.endswith((".html", ".htm")):
            return frame.lineno or 1
    return 1


def first_tag_column(text: str, line: int) -> int:
    return _column(text.split("\n"), line, None)
