"""Messages between forked processes: length-prefixed pickles over pipes.

The lint workers (`lintpool`) and the synth's helper (`parallel`) talk to the main
process this way. A pickle is only ever read from a process this one forked, never from
a file: nothing a blueprint controls is unpickled.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from contextlib import suppress
from typing import Any

HEADER = struct.Struct(">I")
READ_SIZE = 1 << 16


def frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from a blocking fd, or None at end-of-file before the first byte."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            if left == size:
                return None
            raise EOFError("a pipe closed inside a message")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> Any:
    """The next message on a blocking fd, or None at end-of-file."""
    header = read_exactly(fd, HEADER.size)
    if header is None:
        return None
    return pickle.loads(read_exactly(fd, HEADER.unpack(header)[0]) or b"")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            with suppress(OSError):
                os.close(fd)


def read_available(fd: int, into: bytearray) -> bool:
    """Append what a non-blocking fd holds now to `into`; False at end-of-file."""
    while True:
        try:
            chunk = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        into += chunk


def messages(got: bytearray) -> list[Any]:
    """The whole messages at the start of `got`, taken out of it."""
    found = []
    while len(got) >= HEADER.size:
        (size,) = HEADER.unpack_from(got)
        if len(got) < HEADER.size + size:
            break
        found.append(pickle.loads(got[HEADER.size:HEADER.size + size]))
        del got[:HEADER.size + size]
    return found


def detach_from_terminal() -> None:
    """Standard streams to /dev/null: a forked worker speaks only through its pipes (a
    stray print must not land in the synth's output), and a background process group
    that touches a terminal can be stopped by it (SIGTTIN, SIGTTOU)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    sys.stdout = sys.stderr = open(os.devnull, "w")   # noqa: SIM115 — until os._exit


def become_worker(blocked: set, parent: int | None = None) -> None:
    """In a forked worker: Ctrl-C is the parent's to handle (it stops the workers),
    SIGTERM ends it, the signal mask is restored, it leads a process group of its own
    (so the parent can stop all it forks), and its standard streams go nowhere. With
    `parent`, it also dies with that process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.setpgid(0, 0)
    if parent is not None:
        die_with_parent(parent)
    detach_from_terminal()


def die_with_parent(parent: int) -> None:
    """Have Linux kill this forked process when its parent ends: a synth stopped by
    SIGTERM or SIGKILL runs no cleanup of its own. Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)   # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:                      # it ended before that took hold
        os._exit(1)


def grow(fd: int, size: int) -> bool:
    """Ask for a pipe buffer of at least `size` bytes; True if it surely has one (Linux
    can be asked; elsewhere only PIPE_BUF is certain)."""
    import fcntl

    if size <= 4096:
        return True
    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        return False
    try:
        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size) >= size
    except OSError:
        return False
