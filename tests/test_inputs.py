"""The inputs hash: a synth walks each input folder once, and a later look sees changes."""

from __future__ import annotations

from collections import Counter

import generator.assets
import generator.inputs
from generator.build import synth
from generator.inputs import inputs_hash

from .conftest import copy_sources


def test_a_synth_walks_the_shared_lambda_code_once(tmp_path, monkeypatch):
    project = copy_sources(tmp_path / "p")
    walked: Counter = Counter()
    real = generator.inputs._walk_stamp

    def walk(root, folder):
        walked[folder] += 1
        return real(root, folder)

    monkeypatch.setattr(generator.inputs, "_walk_stamp", walk)
    result = synth(str(project), run_lint=False, write=False, helper=False)
    apps = {stack.app for stack in result.stacks}
    envs = {(stack.app, stack.env) for stack in result.stacks}
    assert len(envs) > len(apps) > 1             # several apps, some in several envs
    assert walked["lambda_code"] == 1
    assert {walked[f"blueprints/{app}"] for app in apps} == {1}


def test_outside_a_synth_every_look_sees_the_files_as_they_are_now(tmp_path):
    project = copy_sources(tmp_path / "p")
    synth(str(project), run_lint=False, helper=False)
    before = inputs_hash(str(project), "raffle")
    handler = next((project / "lambda_code").rglob("*.py"))
    handler.write_text(handler.read_text() + "\n# changed\n")
    assert inputs_hash(str(project), "raffle") != before


def test_a_synth_walks_each_function_folder_once_however_many_stacks_use_it(tmp_path,
                                                                          monkeypatch):
    import generator.paths

    project = copy_sources(tmp_path / "p")
    walked: Counter = Counter()
    asked: Counter = Counter()
    real_walk, real_stamp = generator.paths._tree_stamp, generator.paths.tree_stamp

    def walk(root, folder):
        walked[folder] += 1
        return real_walk(root, folder)

    def stamp(root, folder):
        asked[folder] += 1
        return real_stamp(root, folder)

    monkeypatch.setattr(generator.paths, "_tree_stamp", walk)
    monkeypatch.setattr(generator.assets, "tree_stamp", stamp)
    synth(str(project), run_lint=False, write=False, helper=False)
    assert walked and set(walked.values()) == {1}
    assert sum(asked.values()) > 2 * len(asked)   # each folder packaged for several stacks
    generator.paths.tree_stamp(str(project), "lambda_code/raffle_apply")
    assert walked["lambda_code/raffle_apply"] == 2  # outside a synth: a fresh look


def test_a_look_kept_by_a_synth_on_one_thread_is_not_seen_on_another():
    import threading

    from generator.paths import looked, one_look

    walks: list = []

    def walk() -> int:
        walks.append(1)
        return len(walks)

    entered, release = threading.Event(), threading.Event()

    def synth_on_a_thread() -> None:
        with one_look():
            looked(("k",), walk)
            looked(("k",), walk)
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=synth_on_a_thread)
    thread.start()
    assert entered.wait(5) and len(walks) == 1     # once within the synth
    looked(("k",), walk)
    looked(("k",), walk)
    assert len(walks) == 3                         # here: a fresh look each time
    release.set()
    thread.join()
