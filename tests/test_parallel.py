"""The synth's helper process: it builds apps beside the main one, the result is the
same as one process makes, and whatever goes wrong in it is done again (and reported)
by the main process."""

from __future__ import annotations

import os
import signal
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


def test_an_error_is_raised_here_as_one_process_would_raise_it():
    seen: list = []
    with pytest.raises(KeyError, match="bug on 5"):
        parallel.run(40, _raises_on_5, lambda index, outcome: seen.append(outcome))
    assert [outcome[0] for outcome in seen] == list(range(5))   # merged up to it, in order
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
