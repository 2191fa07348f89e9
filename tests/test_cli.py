"""The command line explains itself and reports problems without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from generator.cli import main
from generator.kinds import registry


def test_help_explains_the_verbs(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "synth" in out and "kinds" in out and "blueprint" in out


def test_synth_help_names_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    out = capsys.readouterr().out
    for option in ("--env", "--app", "--quiet", "--no-lint"):
        assert option in out


@pytest.mark.parametrize("argv, usage, unknown", [
    (["synth", "--bogus", "x"], "python -m generator synth [-h] [--env E]", "--bogus x"),
    (["deploy", "--env", "dev", "--bogus"], "python -m generator deploy [-h]", "--bogus"),
    (["--bogus", "synth"], "python -m generator [-h] [--debug]", "--bogus"),
    (["synth", "--root", "x"], "python -m generator synth [-h]",
     "--root x; --root goes before the verb: python -m generator --root … synth …"),
])
def test_an_unknown_option_is_reported_with_the_usage_it_belongs_to(capsys, argv, usage,
                                                                    unknown):
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith(f"usage: {usage}"), err
    assert err.splitlines()[-1].endswith(f"error: unrecognized arguments: {unknown}"), err


def test_kinds_lists_every_registered_kind(capsys):
    assert main(["kinds"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list(registry())


def test_kinds_waivers_prints_every_waiver_with_its_reason(capsys):
    assert main(["kinds", "--waivers"]) == 0
    out = capsys.readouterr().out
    for kind in registry().values():
        for waiver in kind.waivers:
            assert f"| `{kind.name}` | `<Name>{waiver.part}` | {waiver.check} | " \
                   f"{waiver.reason} |" in out


def test_kind_fields_and_unknown_kind(capsys):
    assert main(["kinds", "table"]) == 0
    assert "point_in_time_recovery" in capsys.readouterr().out
    assert main(["kinds", "tabel"]) == 1
    assert "did you mean 'table'?" in capsys.readouterr().err


def test_unknown_app_and_env(mini, cli):
    run = cli(mini, "synth", "--app", "shoop")
    assert run.code == 1 and "no app 'shoop' under blueprints/; apps: shop; did you mean " \
                              "'shop'?" in run.err
    run = cli(mini, "synth", "--env", "prd")
    assert run.code == 1 and "no app defines environment 'prd'" in run.err


def test_module_entry_point_runs(mini):
    done = subprocess.run([sys.executable, "-m", "generator", "--root", str(mini), "synth",
                           "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("synth: 2 template(s)")


def test_no_blueprints_folder_says_where_it_looked(tmp_path, cli):
    run = cli(tmp_path, "synth")
    assert run.code == 1
    assert f"no blueprints/ folder in {tmp_path}; run this in the project folder" in run.err


@pytest.mark.parametrize("verb", ["deploy", "plan", "clean", "unlock"])
def test_exit_codes_are_documented_in_help(cli, tmp_path, capsys, verb):
    with pytest.raises(SystemExit) as done:
        cli(tmp_path, verb, "--help")
    assert done.value.code == 0
    text = capsys.readouterr().out
    for line in ("0    everything asked for is done", "1    something failed",
                 "2    usage error", "3    something was not executed for lack of consent",
                 "130  interrupted"):
        assert line in text
    assert ("4    with --detailed-exitcode" in text) == (verb == "plan")


def test_an_internal_error_is_not_blamed_on_the_blueprints(mini, cli, monkeypatch):
    import generator.build

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(generator.build, "synth", broken)
    run = cli(mini, "synth")
    assert run.code == 1         # a failure; 2 is kept for usage errors
    assert "internal error (a bug in the generator, not in your blueprints)" in run.err
    assert "Traceback" not in run.err
