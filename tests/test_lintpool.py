"""The lint pool: workers that start on the first job, share what the host prepared, and
never hang the synth when one of them dies or the synth stops early."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import time

import pytest

from generator.lintpool import LintCrashed, LintPool, LintWorkerDied

from .conftest import group_gone

PREPARED: list[str] = []


def _prepare() -> None:
    PREPARED.append(f"built in {os.getpid()}")


def _work(job):
    kind, value = job
    if kind == "echo":
        return (value, os.getpid(), os.getpgid(0), PREPARED[:], gc.isenabled(),
                gc.get_freeze_count() > 0)
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "raise":
        raise ValueError(f"bad template {value}")
    if kind == "big":
        return "x" * value
    if kind == "size":
        return len(value)
    raise AssertionError(kind)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False



def test_results_come_back_in_order_from_workers_that_share_the_host_s_preparation():
    PREPARED.clear()
    with LintPool(2, _prepare, _work) as pool:
        for n in range(40):
            assert pool.submit(("echo", n), cost=n % 7) == n
        host = pool.host
        results = pool.results()
    assert [r[0] for r in results] == list(range(40))
    assert 1 <= len({r[1] for r in results}) <= 2 and host not in (os.getpid(), 0)
    # prepared once, in the host, before its sibling was forked: both see it
    assert {tuple(r[3]) for r in results} == {(f"built in {host}",)}
    assert PREPARED == []                           # never in the parent
    # their own process group (Ctrl-C at a terminal is the parent's to handle)
    assert {r[2] for r in results} == {host} != {os.getpgid(0)}
    # cycles are collected in the workers; what the host prepared is frozen
    assert {(r[4], r[5]) for r in results} == {(True, True)}
    assert _gone(host)


def test_nothing_starts_without_a_job():
    with LintPool(2, _prepare, _work) as pool:
        assert pool.results() == []
        assert pool.host == 0


def test_results_larger_than_a_pipe_come_back_whole():
    with LintPool(2, _prepare, _work) as pool:
        for size in (10, 300_000, 70_000, 1):
            pool.submit(("big", size))
        assert [len(r) for r in pool.results()] == [10, 300_000, 70_000, 1]


def test_jobs_larger_than_a_pipe_arrive_whole():
    sizes = [1_500_000, 10, 200_000, 70_000]
    with LintPool(2, _prepare, _work) as pool:
        for size in sizes:
            pool.submit(("size", "y" * size), cost=size)
        assert pool.results() == sizes


def test_a_worker_that_dies_is_reported_not_waited_for():
    with LintPool(2, _prepare, _work) as pool:
        for n in range(6):
            pool.submit(("echo", n))
        pool.submit(("die", 0))
        host = pool.host
        with pytest.raises(LintWorkerDied, match="stopped before its work was done"):
            pool.results()
    assert _gone(host)


def test_a_failing_job_is_reported_with_its_traceback_and_stops_the_workers():
    with LintPool(2, _prepare, _work) as pool:
        pool.submit(("echo", 1))
        pool.submit(("raise", "T1"))
        host = pool.host
        with pytest.raises(LintCrashed) as crash:
            pool.results()
    assert crash.value.index == 1
    assert crash.value.details.rstrip().endswith("ValueError: bad template T1")
    assert _gone(host) and group_gone(host)


def test_a_failing_preparation_is_reported():
    def broken() -> None:
        raise ImportError("no cfn-lint here")

    with LintPool(2, broken, _work) as pool, \
            pytest.raises(LintCrashed, match="ImportError: no cfn-lint here") as crash:
        pool.submit(("echo", 1))
        pool.results()
    assert crash.value.index == -1


def test_leaving_early_kills_every_worker():
    with pytest.raises(KeyboardInterrupt), LintPool(2, _prepare, _work) as pool:
        for n in range(100):
            pool.submit(("echo", n))
        host = pool.host
        raise KeyboardInterrupt
    assert _gone(host) and group_gone(host)        # the siblings went with it


def test_a_program_that_ignores_sigchld_still_gets_its_results():
    was = signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # children are reaped for it
    try:
        with LintPool(2, _prepare, _work) as pool:
            pool.submit(("echo", 7))
            assert pool.results()[0][0] == 7
    finally:
        signal.signal(signal.SIGCHLD, was)


def test_a_pool_can_be_used_again_after_its_results():
    with LintPool(2, _prepare, _work) as pool:
        pool.submit(("echo", 1))
        first_host = pool.host
        assert [r[0] for r in pool.results()] == [1]
        pool.submit(("echo", 2))
        pool.submit(("echo", 3))
        assert pool.host != first_host
        assert [r[0] for r in pool.results()] == [2, 3]


def test_nothing_to_lint_does_not_wait_for_the_host_to_prepare(tmp_path):
    done = tmp_path / "prepared"

    def slow() -> None:
        time.sleep(30)
        done.touch()

    with LintPool(2, slow, _work) as pool:
        pool.start()
        host = pool.host
        assert pool.results() == []
    assert group_gone(host) and not done.exists()


def _noisy(job):
    print("cfn-lint chatter")                       # noqa: T201 — what a library might do
    os.write(2, b"more chatter\n")
    return job


def test_what_a_worker_prints_never_reaches_the_synth_s_output(capfd):
    with LintPool(2, _prepare, _noisy) as pool:
        pool.submit("a")
        assert pool.results() == ["a"]
    out, err = capfd.readouterr()
    assert "chatter" not in out + err


KILLED_SYNTH = """
import os, sys, time
from generator.lintpool import LintPool

def work(job):
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
    time.sleep(60)

pool = LintPool(2, lambda: None, work)
for job in range(4):        # two for each worker
    pool.submit(job)
print(pool.host, flush=True)
while True:
    pool.pump()
    time.sleep(0.01)
"""


def test_a_synth_killed_outright_takes_its_lint_workers_with_it(tmp_path):
    """SIGKILL runs no cleanup: the host dies with the synth, its sibling with the host."""
    import subprocess
    import sys

    from .conftest import REPO

    synth = subprocess.Popen([sys.executable, "-c", KILLED_SYNTH, str(tmp_path)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    host = int(synth.stdout.readline())
    try:
        deadline = time.monotonic() + 20
        while len(list(tmp_path.iterdir())) < 2:       # both workers busy
            assert time.monotonic() < deadline, "the lint workers never started"
            time.sleep(0.02)
        synth.kill()
        synth.wait()
        assert group_gone(host)
    finally:
        synth.kill()
        synth.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(host, signal.SIGKILL)


def test_a_pool_started_on_a_thread_that_has_ended_keeps_working():
    """Linux ties a child's death signal to the thread that forked it: a pool started
    on a library user's thread must not die when that thread ends."""
    from concurrent.futures import ThreadPoolExecutor

    def started() -> LintPool:
        pool = LintPool(2, _prepare, _work)
        pool.start()
        time.sleep(0.3)                               # the host is set up by now
        return pool

    with ThreadPoolExecutor(1) as threads:
        pool = threads.submit(started).result()
    time.sleep(0.3)                                   # the thread is gone
    with pool:
        for n in range(6):
            pool.submit(("echo", n))
        assert [r[0] for r in pool.results()] == list(range(6))
