"""The synth's helper process: it builds apps beside the main one, the result is the
same as one process makes, and whatever goes wrong in it is done again (and reported)
by the main process."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

import generator.build
from generator import parallel
from generator.build import synth
from generator.errors import BlueprintError

from .conftest import REPO, copy_sources, group_gone, tree_digest, write_files

MAIN = os.getpid()


def _run(count: int, work, tick=None) -> list[tuple[int, object]]:
    merged: list[tuple[int, object]] = []
    parallel.run(count, work, lambda index, outcome: merged.append((index, outcome)), tick)
    return merged


def _who(index: int, tick) -> tuple[int, int, int]:
    if tick:
        tick()
    time.sleep(0.005)           # long enough that the helper, once forked, takes some
    return index, os.getpid(), os.getpgid(0)


def _helpers(merged) -> set[int]:
    return {pid for _, (_, pid, _) in merged if pid != MAIN}


def test_both_processes_work_and_outcomes_merge_in_order():
    ticks = []
    merged = _run(60, _who, lambda: ticks.append(1))
    assert [index for index, _ in merged] == list(range(60))
    assert [outcome[0] for _, outcome in merged] == list(range(60))
    pids = {pid for _, (_, pid, _) in merged}
    assert MAIN in pids and len(pids) == 2          # this process and one helper
    (helper,) = _helpers(merged)
    # the helper has a process group of its own (Ctrl-C reaches only this process)
    assert {group for _, (_, pid, group) in merged if pid == helper} == {helper}
    assert ticks and group_gone(helper)             # and it is reaped at the end


def test_without_a_helper_everything_is_done_here():
    merged: list = []
    parallel.run(5, _who, lambda index, outcome: merged.append(outcome), helper=False)
    assert [(index, pid) for index, pid, _ in merged] == [(i, MAIN) for i in range(5)]


def _printing(index: int, tick) -> tuple[int, int, int]:
    """Prints as a plugin kind might: print, a program it runs, and a bare write."""
    print(f"out {index}")
    print(f"err {index}", file=sys.stderr)
    if index % 7 == 3:                  # no flush: the capture keeps print and program in order
        subprocess.run(["printf", f"echo {index} \\377\\376\\n"], stdout=sys.stdout,
                       check=True)
        os.write(sys.stderr.fileno(), f"fd {index}\n".encode())
    return _who(index, tick)


def _printing_plainly(index: int, tick) -> tuple[int, int, int]:
    print(f"out {index}")
    return _who(index, tick)


def _lines(text: str, prefix: str, pids: dict, pid_wanted) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines()
            if line.startswith(prefix) and pid_wanted(pids[int(line.split()[1])])]


def test_what_the_helper_prints_is_printed_here_whole_and_in_order(capfdbinary):
    streams = sys.stdout, sys.stderr
    merged = _run(40, _printing)
    pids = {index: pid for index, (_, pid, _) in merged}
    helper = _helpers(merged)
    assert helper and MAIN in pids.values()
    assert (sys.stdout, sys.stderr) == streams
    raw_out, raw_err = capfdbinary.readouterr()
    for index in range(3, 40, 7):       # a program's bytes, as they are
        assert f"echo {index} ".encode() + b"\xff\xfe\n" in raw_out
    out, err = (raw.decode("utf-8", "replace") for raw in (raw_out, raw_err))
    lines = out.splitlines()
    for index in range(3, 40, 7):       # within an app: the print, then the program
        if pids[index] in helper:
            assert lines.index(f"out {index}") < next(
                n for n, line in enumerate(lines) if line.startswith(f"echo {index} "))
    for text, prefixes in ((out, ("out", "echo")), (err, ("err", "fd"))):
        for prefix in prefixes:
            every = sorted(_lines(text, prefix, pids, lambda pid: True))
            expected = [i for i in range(40) if prefix in ("out", "err") or i % 7 == 3]
            assert every == expected, (prefix, text)          # each once, none lost
            there = _lines(text, prefix, pids, lambda pid: pid in helper)
            assert there == sorted(there)                     # the helper's in app order
    assert any(pids[i] in helper for i in range(40) if i % 7 == 3), "a program ran there"


def test_the_helper_s_output_goes_to_the_streams_of_the_moment(monkeypatch):
    """A progress bar replaces sys.stdout while it shows: what the helper printed goes
    through the bar's stream then, never to one saved before."""
    bar = io.StringIO()

    def merge(index, outcome):
        if index == 0:
            monkeypatch.setattr(sys, "stdout", bar)

    merged: dict = {}
    parallel.run(40, _printing_plainly,
                 lambda index, outcome: (merged.__setitem__(index, outcome[1]),
                                         merge(index, outcome)))
    through_bar = {int(line.split()[1]) for line in bar.getvalue().splitlines()}
    assert {i for i in through_bar if merged[i] != MAIN}, \
        "the helper's output went through the bar's stream"


def _interrupted_on_0(index: int, tick):
    """Whoever takes 0: the main does it again and raises, once the other did the rest,
    which waits behind it."""
    outcome = _slow_on_0(index, tick)
    if index == 0:
        raise KeyboardInterrupt
    return outcome


def test_a_synth_stopped_early_still_prints_what_the_helper_printed(capfd, tmp_path):
    DONE_THERE[:] = [tmp_path / "done"]
    with pytest.raises(KeyboardInterrupt):
        parallel.run(20, _interrupted_on_0, lambda index, outcome: None)
    out = capfd.readouterr().out
    assert sorted(int(line.split()[1]) for line in out.splitlines()) == list(range(20))


DONE_THERE: list = []          # the file the helper's last work leaves behind


def _slow_on_0(index: int, tick):
    print(f"out {index}")
    if index == 19:
        DONE_THERE[0].touch()
    if index == 0 and os.getpid() == MAIN:
        deadline = time.monotonic() + 30   # not looking until the helper did the rest:
        while not DONE_THERE[0].exists() and time.monotonic() < deadline:
            time.sleep(0.01)               # its outcomes then come in one batch
        time.sleep(0.5)                    # (its last one sent just after the file)
        return index, MAIN, 0
    return _who(index, tick)


def test_a_merge_that_raises_loses_none_of_what_the_helper_printed(capfd, tmp_path):
    DONE_THERE[:] = [tmp_path / "done"]
    def merge(index, outcome):
        if index == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        parallel.run(20, _slow_on_0, merge)
    out = capfd.readouterr().out
    assert sorted(int(line.split()[1]) for line in out.splitlines()) == list(range(20))


TAKEN: list[int] = []


def _in_helper_on_its_third(index: int, fault: str) -> None:
    if os.getpid() != MAIN:
        TAKEN.append(index)             # the helper's own copy of the list
        if len(TAKEN) == 3:
            if fault == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            raise KeyError(f"bug on {index}")


@pytest.mark.parametrize("fault", ["die", "raise"])
def test_what_the_helper_did_not_deliver_is_done_here(fault):
    def work(index, tick):
        _in_helper_on_its_third(index, fault)
        return (*_who(index, tick), len(TAKEN))

    merged = _run(40, work)
    assert [index for index, _ in merged] == list(range(40))
    assert [outcome[0] for _, outcome in merged] == list(range(40))
    # the helper's count of what it took, on what it delivered: its third never came
    counts = [taken for _, (_, pid, _, taken) in merged if pid != MAIN]
    assert counts[:2] == [1, 2] and 3 not in counts
    assert counts == [1, 2] if fault == "die" else len(counts) > 2
    for helper in {pid for _, (_, pid, _, _) in merged if pid != MAIN}:
        assert group_gone(helper)


def _raises_on_5(index: int, tick):
    if index == 5:
        raise KeyError(f"bug on {index}")
    return _who(index, tick)


def test_an_error_here_stops_the_helper_and_is_raised():
    seen: list = []
    with pytest.raises(KeyError, match="bug on 5"):
        parallel.run(40, _raises_on_5, lambda index, outcome: seen.append(outcome))
    assert [outcome[0] for outcome in seen] == list(range(len(seen))) and len(seen) <= 5
    for helper in {pid for _, pid, _ in seen if pid != MAIN}:
        assert group_gone(helper)                   # stopped with the error
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)                  # nothing left to reap


def _unpicklable_in_helper(index: int, tick):
    outcome = _who(index, tick)
    return (lambda: outcome) if os.getpid() != MAIN else outcome


def test_an_outcome_that_cannot_travel_is_made_here_instead():
    merged = _run(20, _unpicklable_in_helper)
    assert [outcome for _, outcome in merged] == [(i, MAIN, os.getpgid(0)) for i in range(20)]


def _stacks(result) -> list[tuple]:
    return [(s.app, s.env, s.stage_name, s.path, s.text, s.resources, s.manifest_entry,
             s.sources) for s in result.stacks]


def test_a_synth_with_a_helper_makes_what_one_process_makes(tmp_path, monkeypatch):
    made_in: list[int] = []
    real = generator.build.make_app

    def make_app(*args):
        made_in.append(os.getpid())
        if os.getpid() == MAIN:
            time.sleep(0.05)            # leave the helper time to take an app or two
        return real(*args)

    monkeypatch.setattr(generator.build, "make_app", make_app)
    shared = synth(str(REPO), run_lint=False, write=False, helper=True)
    alone = synth(str(REPO), run_lint=False, write=False, helper=False)
    assert len(shared.stacks) >= 20
    assert shared.files == alone.files and list(shared.files) == list(alone.files)
    assert _stacks(shared) == _stacks(alone)
    assert shared.assets == alone.assets and shared.findings == alone.findings
    # the second synth built every app here; the first left some to the helper
    apps = len({s.app for s in alone.stacks})
    assert apps <= made_in.count(MAIN) < apps + apps


def test_blueprint_errors_from_the_helper_are_the_ones_one_process_reports(tmp_path):
    project = copy_sources(tmp_path / "p")
    write_files(project, {
        "blueprints/raffle/01-table.yaml": "resources:\n  entries:\n    kind: tabel\n",
        "blueprints/orders/app.yaml": "name: orders\nenvironments: [dev\n"})
    before = tree_digest(project / "build")
    errors = []
    for helper in (True, False):
        with pytest.raises(BlueprintError) as caught:
            synth(str(project), run_lint=False, helper=helper)
        errors.append([str(p) for p in caught.value.problems])
    assert errors[0] == errors[1]
    assert any("blueprints/raffle/01-table.yaml:3:" in e for e in errors[0])
    assert any("blueprints/orders/app.yaml:" in e for e in errors[0])
    assert tree_digest(project / "build") == before         # nothing written


def _many_apps(tmp_path, count: int = 12):
    from .benchscale import raffles

    return raffles(tmp_path / "many", count)


def _crash_in(apps: set[str], monkeypatch) -> None:
    real = generator.build.inputs_hash

    def inputs_hash(root, app):
        if app in apps:
            raise OSError(f"cannot read the inputs of {app}")
        return real(root, app)

    monkeypatch.setattr(generator.build, "inputs_hash", inputs_hash)


def test_the_first_app_s_internal_error_is_raised_whichever_process_met_it(
        tmp_path, monkeypatch):
    project = _many_apps(tmp_path)
    _crash_in({"raffle3", "raffle8", "raffle9"}, monkeypatch)
    for helper in (True, True, True, False):
        with pytest.raises(OSError, match="inputs of raffle3$"):
            synth(str(project), ["dev"], run_lint=False, write=False, helper=helper)


WIDE = """\
resources:
  wide:
    kind: raw
    type: AWS::IAM::ManagedPolicy
    properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]
"""


def test_problems_come_in_the_order_one_process_meets_them(tmp_path, monkeypatch):
    project = _many_apps(tmp_path)
    write_files(project, {"blueprints/raffle7/06-wide.yaml": WIDE})   # refused when built
    for helper in (True, False):
        # an environment no app defines is said before any build problem
        with pytest.raises(BlueprintError) as caught:
            synth(str(project), ["dev", "prdo"], run_lint=False, write=False, helper=helper)
        assert "no app defines environment 'prdo'" in str(caught.value.problems)
        with pytest.raises(BlueprintError) as caught:
            synth(str(project), ["dev"], run_lint=False, write=False, helper=helper)
        assert [p.mark.file for p in caught.value.problems] == \
            ["blueprints/raffle7/06-wide.yaml"] and "policy guard" in str(caught.value)
    _crash_in({"raffle9"}, monkeypatch)
    write_files(project, {"blueprints/raffle10/app.yaml": "name: raffle10\nenvironments: [\n"})
    for helper in (True, False):
        # a load problem anywhere is said before an internal error while building
        with pytest.raises(BlueprintError) as caught:
            synth(str(project), ["dev"], run_lint=False, write=False, helper=helper)
        assert [p.mark.file for p in caught.value.problems] == ["blueprints/raffle10/app.yaml"]


def test_without_a_fork_the_work_is_all_done_here(monkeypatch):
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    merged = _run(6, _who)
    assert [outcome[:2] for _, outcome in merged] == [(i, MAIN) for i in range(6)]


def test_stopping_the_helper_stops_what_it_forked(tmp_path):
    note = tmp_path / "grandchild"

    def work(index, tick):
        if os.getpid() != MAIN and not note.exists():
            child = os.fork()                   # as a sandboxed render would
            if child == 0:
                time.sleep(60)
                os._exit(0)
            note.write_text(str(os.getpgid(0)))
        if os.getpid() == MAIN and note.exists():
            raise KeyError("stop")
        return _who(index, tick)

    with pytest.raises(KeyError):
        parallel.run(200, work, lambda index, outcome: None)
    assert group_gone(int(note.read_text()))     # the helper's group: its child too
