"""Broken blueprints never crash the generator: a fixed-seed sample of mutations of the
shipped blueprints either synthesizes or fails with a located, readable error."""

from __future__ import annotations

import random

import pytest

from generator.build import synth
from generator.errors import BlueprintError, GeneratorError

from .conftest import copy_sources

MUTATIONS = 300
NOISE = [": ", "- ", "!Ref ", "!Output x.y", "{{ nope }}", "{% if %}", "\t", "'", '"', "[",
         "{", "}", "]", "&a", "*a", "<<: ", "kind: table", "~", "null", "0x", "#", "@"]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    index = rng.randrange(len(lines))
    action = rng.randrange(4)
    if action == 0:
        del lines[index]
    elif action == 1:
        lines.insert(index, lines[rng.randrange(len(lines))])
    elif action == 2:
        line = lines[index]
        cut = rng.randint(0, len(line))
        lines[index] = line[:cut] + rng.choice(NOISE) + line[cut:]
    else:
        lines[index] = lines[index][: rng.randint(0, len(lines[index]))]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_sources(tmp_path_factory.mktemp("fuzz"))


def test_mutated_blueprints_fail_cleanly(project):
    rng = random.Random(2026)
    files = sorted((project / "blueprints").rglob("*.yaml"))
    originals = {path: path.read_text() for path in files}
    outcomes = {"ok": 0, "error": 0}
    for _ in range(MUTATIONS):
        path = rng.choice(files)
        path.write_text(_mutate(originals[path], rng))
        try:
            synth(str(project), run_lint=False, write=False)
            outcomes["ok"] += 1
        except BlueprintError as exc:
            assert exc.problems, "a BlueprintError must carry at least one problem"
            for problem in exc.problems:
                assert problem.mark is None or problem.mark.file.startswith("blueprints/")
                assert problem.message and "Traceback" not in problem.message
            outcomes["error"] += 1
        except GeneratorError as exc:
            assert str(exc)
            outcomes["error"] += 1
        finally:
            path.write_text(originals[path])
    assert outcomes["error"] > MUTATIONS // 3 and outcomes["ok"] > 0
