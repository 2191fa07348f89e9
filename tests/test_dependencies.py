"""Dependencies: bounded ranges in setup.cfg, hashed locks that cover them, and a Makefile
that installs only from those locks (pip and setuptools first), again when they change."""

from __future__ import annotations

import configparser
import re
import subprocess

import pytest

from .conftest import REPO

LOCKS = ("pip", "app", "referees")
NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requirements() -> list[str]:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in ("test", "local"):
        lines += config["options.extras_require"][extra].splitlines()
    return [line.strip() for line in lines if line.strip()]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: str) -> dict[str, list[str]]:
    """name → its hashes, for every requirement of a lock file."""
    pins: dict[str, list[str]] = {}
    current = None
    for line in (REPO / "requirements" / f"{lock}.lock").read_text().splitlines():
        if line.startswith((" ", "#")) or not line:
            if current and "--hash=sha256:" in line:
                pins[current].append(line.split("--hash=sha256:")[1].split()[0])
            continue
        assert re.match(r"^[A-Za-z0-9._-]+==[^ ;]+( ;.*)? \\$", line), line
        current = _canonical(line.split("==")[0])
        pins[current] = []
    return pins


def test_every_requirement_has_an_upper_bound_and_jinja_is_patched():
    requirements = _requirements()
    assert requirements
    for requirement in requirements:
        assert re.search(r"<[0-9]", requirement), f"{requirement} has no upper bound"
    assert "jinja2>=3.1.6,<4" in requirements


@pytest.mark.parametrize("lock", LOCKS)
def test_locks_pin_every_package_with_hashes_and_name_no_local_index(lock):
    text = (REPO / "requirements" / f"{lock}.lock").read_text()
    assert not re.search(r"^\s*(-i|--index-url|--extra-index-url|-f|--find-links)", text, re.M)
    assert "file://" not in text and "/opt/" not in text
    pins = _pins(lock)
    assert pins and all(len(hashes) >= 1 for hashes in pins.values()), lock


def test_the_app_lock_covers_setup_cfg_with_its_extras():
    pins = _pins("app")
    for requirement in _requirements():
        assert _canonical(NAME.match(requirement)[1]) in pins, requirement
    assert {"pip", "setuptools"} <= set(_pins("pip"))
    assert "checkov" in _pins("referees")


def _dry_run(*targets: str) -> str:
    done = subprocess.run(["make", "-n", "-B", "-C", str(REPO), *targets,
                           "VENV=/opt/venv", "REFEREES=/opt/referees"],
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_make_installs_pip_first_then_only_hashed_pins_then_the_project_alone():
    commands = [line for line in _dry_run("install").splitlines() if "pip install" in line]
    assert len(commands) == 3
    assert "--require-hashes --upgrade -r requirements/pip.lock" in commands[0]
    assert "--require-hashes -r requirements/app.lock" in commands[1]
    assert "--no-deps --no-build-isolation -e ." in commands[2]
    referees = [line for line in _dry_run("referees").splitlines() if "pip install" in line]
    assert "/opt/referees/bin/python" in referees[-1]
    assert "--require-hashes -r requirements/referees.lock" in referees[-1]


@pytest.mark.parametrize(("target", "variable", "locks"), [
    ("install", "VENV", ("pip", "app")), ("referees", "REFEREES", ("pip", "referees"))])
def test_make_reinstalls_when_a_lock_changes(tmp_path, target, variable, locks):
    (tmp_path / ".installed").touch()  # a venv installed just now

    def up_to_date(*changed: str) -> bool:
        what_if = [f"--what-if=requirements/{lock}.lock" for lock in changed]
        return subprocess.run(["make", "-q", "-C", str(REPO), *what_if, target,
                               f"{variable}={tmp_path}"], capture_output=True).returncode == 0

    assert up_to_date()
    for lock in locks:
        assert not up_to_date(lock), lock


def test_make_lock_resolves_against_pypi_alone_with_hashes():
    commands = _dry_run("lock")
    for lock in LOCKS:
        assert f"-o requirements/{lock}.lock" in commands
    assert "PIP_CONFIG_FILE=/dev/null" in commands and "--generate-hashes" in commands
    assert "--index-url https://pypi.org/simple" in commands
    assert "--extra test --extra local" in commands
