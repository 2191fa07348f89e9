"""Start, wait for and stop the local cloud (MiniStack) on 127.0.0.1, by PID.

It runs from this project's virtualenv, so the Lambda handlers it runs as subprocesses
can import boto3. Listeners MiniStack would open on every interface (IoT mTLS, SFTP) are
switched off: everything we start listens on loopback only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from .cloud import DeployError, without_credentials

HOST = "127.0.0.1"
DEFAULT_PORT = 4566
STATE_DIR = ".cache/localcloud"
_children: dict[int, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def endpoint(port: int) -> str:
    return f"http://{HOST}:{port}"


def healthy(port: int) -> bool:
    try:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(f"{endpoint(port)}/_ministack/health", timeout=1) as r:
            return r.status == 200 and "cloudformation" in json.load(r).get("services", {})
    except (OSError, ValueError):
        return False


def start(port: int, log_path: str, limit: float = 30.0, extra_env: dict | None = None) -> int:
    """Start MiniStack on 127.0.0.1:port; return its PID once it answers."""
    if healthy(port):
        raise DeployError(f"something already answers on {HOST}:{port} (a local cloud "
                          "another project started?); stop it with `make local-down` in "
                          "the project that started it, or use another port: make local "
                          f"LOCAL_PORT={port + 1}")
    binary = os.path.join(os.path.dirname(sys.executable), "ministack")
    env = without_credentials({
        **os.environ, "BIND_HOST": HOST, "GATEWAY_PORT": str(port), "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0", "MINISTACK_HOST": "localhost", **(extra_env or {})})
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    deadline, delay = time.monotonic() + limit, 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DeployError(f"the local cloud exited at start (code {process.returncode}); "
                              f"see {log_path}")
        if healthy(port):
            _children[process.pid] = process
            return process.pid
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)
    stop(process.pid)
    raise DeployError(f"the local cloud did not answer on {HOST}:{port} within {limit:.0f} s; "
                      f"see {log_path}")


def stop(pid: int, limit: float = 10.0) -> bool:
    """Stop a process group we started: TERM, then KILL after `limit` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + limit
    child = _children.pop(pid, None)
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            return True
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True
