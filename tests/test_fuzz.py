"""Broken blueprints never crash the generator: a fixed-seed sample of mutations of the
shipped blueprints either synthesizes or fails with a located, readable error."""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import pytest

from generator.build import synth
from generator.cli import main
from generator.errors import BlueprintError, GeneratorError

from .conftest import copy_sources, tree_digest

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


FILE_MUTATIONS = 200
ERROR_LINE = re.compile(r"error: (blueprints|lambda_code|site_assets)/[^:\s]+(:\d+:\d+)?: ")


def _swap_type(text: str, rng: random.Random) -> str:
    """A scalar value becomes a list, a mapping, a number, a boolean or nothing."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if re.match(r"\s*[a-z_]+: \S", line)]
    if not candidates:
        return text
    index = rng.choice(candidates)
    key = lines[index].split(":", 1)[0]
    lines[index] = f"{key}: {rng.choice(['[a, b]', '{a: 1}', '12345678901234', 'true', ''])}"
    return "\n".join(lines)


def _corrupt_bytes(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + data[at:]


def _file_mutation(project: Path, path: Path, rng: random.Random, outside: Path) -> None:
    action = rng.randrange(7)
    if action == 0:
        path.write_bytes(_corrupt_bytes(path.read_bytes(), rng))
    elif action == 1:
        path.write_text(_swap_type(path.read_text(), rng))
    elif action == 2:
        path.unlink()
        os.symlink(rng.choice([outside, project / "nowhere.yaml", path]), path)
    elif action == 3:
        path.rename(path.with_name(rng.choice(["1-x.yaml", "01_x.yaml", "app.yml", "01-X.yaml",
                                               "01-x.yml", ".01-x.yaml"])))
    elif action == 4:
        path.unlink()
        path.mkdir()
    elif action == 5:
        code = project / "lambda_code" / rng.choice(["raffle_apply", "customers_create"])
        os.symlink(rng.choice([outside, project / "missing"]), code / "linked.py")
    else:
        text = path.read_text()
        cut = rng.randrange(len(text) + 1)
        path.write_text(text[:cut] + text[cut:cut + rng.randint(1, 40)] + text[cut:])


def test_file_level_mutations_fail_cleanly(tmp_path, capsys):
    """Byte corruption, type swaps, links out/dangling/looping, renamed files, folders
    named like files, duplicated tokens: never exit 2, never a traceback, every error
    located, build/ unchanged by a failing run."""
    rng = random.Random(1124)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret: 1\n")
    clean = copy_sources(tmp_path / "clean")
    assert main(["--root", str(clean), "synth", "--no-lint", "--quiet"]) == 0
    capsys.readouterr()
    counts = {0: 0, 1: 0}
    for case in range(FILE_MUTATIONS):
        project = tmp_path / f"p{case % 2}"
        if project.exists():
            shutil.rmtree(project)
        shutil.copytree(clean, project, symlinks=True)
        before = tree_digest(project / "build")
        files = sorted((project / "blueprints").rglob("*.yaml"))
        _file_mutation(project, rng.choice(files), rng, outside)
        code = main(["--root", str(project), "synth", "--no-lint", "--quiet"])
        out, err = capsys.readouterr()
        assert code in (0, 1), f"case {case}: exit {code}\n{err}"
        assert "Traceback" not in out + err and "internal error" not in err
        assert "secret: 1" not in out + err
        if code == 1:
            errors = [line for line in err.splitlines() if line.startswith("error: ")]
            assert errors and all(ERROR_LINE.match(line) for line in errors), err
            assert tree_digest(project / "build") == before
        counts[code] += 1
    assert counts[1] > FILE_MUTATIONS // 2
