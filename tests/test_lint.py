"""cfn-lint in its workers: errors fail the synth with both positions, warnings do not,
results are cached, and parallel linting finds what serial linting finds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from generator.build import synth
from generator.lint import LintJob, lint
from generator.lintpool import LintPool

from .conftest import group_gone, tree_digest, write_files

BAD_RAW = """\
resources:
  Topic:
    kind: raw
    type: AWS::SNS::Topic
    properties:
      TopicNme: orders
"""

OBSOLETE_DEPENDS_ON = """\
resources:
  Queue:
    kind: raw
    type: AWS::SQS::Queue
  Other:
    kind: raw
    type: AWS::SQS::Queue
    depends_on: [Queue]
    properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Queue.Arn, maxReceiveCount: 3}
"""


def test_lint_error_fails_synth_naming_template_and_blueprint(mini, cli):
    assert cli(mini, "synth").code == 0
    before = tree_digest(mini / "build")
    write_files(mini, {"blueprints/shop/03-topic.yaml": BAD_RAW})
    run = cli(mini, "synth")
    assert run.code == 1
    assert "error: blueprints/shop/03-topic.yaml:6:17: resources.Topic.properties.TopicNme: " \
           "Additional properties are not allowed ('TopicNme' was unexpected. Did you mean " \
           "'TopicName'?) (cfn-lint E3002) [template build/dev/shop/03-topic.yaml:7:7]\n" \
           "1 problem found; nothing was written" in run.err
    assert tree_digest(mini / "build") == before


def test_lint_warnings_are_shown_but_not_fatal(mini, cli):
    write_files(mini, {"blueprints/shop/03-queues.yaml": OBSOLETE_DEPENDS_ON})
    run = cli(mini, "synth")
    assert run.code == 0
    assert "build/dev/shop/03-queues.yaml" in run.out and "lint: 1 warning(s)" in run.out
    assert "warning blueprints/shop/03-queues.yaml:8:17: resources.Other.depends_on: 'Queue' " \
           "dependency already enforced" in run.err
    assert "(cfn-lint W3005) [template build/dev/shop/03-queues.yaml:" in run.err


def _cfnlint_imported(root) -> bool:
    code = ("import sys; from generator.build import synth; synth(sys.argv[1]); "
            "print('cfnlint' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(root)], check=True,
                          capture_output=True, text=True, cwd=root)
    return done.stdout.strip() == "True"


def test_cfnlint_is_only_ever_imported_in_the_lint_workers(mini):
    assert _cfnlint_imported(mini) is False
    assert json.loads((mini / ".cache/lint.json").read_text())["entries"]


def test_unchanged_resynth_starts_no_lint_worker(mini, monkeypatch):
    started = []
    real = LintPool.start

    def start(pool):
        if not pool.host:
            started.append(pool)
        real(pool)

    monkeypatch.setattr(LintPool, "start", start)
    synth(str(mini))
    assert len(started) == 1
    synth(str(mini))
    assert len(started) == 1
    write_files(mini, {"blueprints/shop/01-data.yaml": (mini / "blueprints/shop/01-data.yaml")
                       .read_text().replace("key: {id: S}", "key: {id: S}\n    ttl: expires")})
    assert synth(str(mini)).cache_hits == 1
    assert len(started) == 2


def test_cache_reports_hits(mini, cli):
    first = cli(mini, "synth")
    second = cli(mini, "synth")
    assert "lint cache 0/2" in first.out and "lint cache 2/2" in second.out


def test_parallel_lint_finds_what_serial_lint_finds():
    bad = b"""AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Topic%d:
    Type: AWS::SNS::Topic
    Properties:
      TopicNme: x
"""
    jobs = [LintJob(f"t{i}.yaml", bad % i, "eu-west-1", {f"Topic{i}": None})
            for i in range(10)]
    serial, _ = lint(jobs, None, workers=1)
    parallel, _ = lint(jobs, None, workers=2)
    assert serial == parallel
    assert [f.rule for f in serial] == ["E3002"] * 10


def _two_apps_two_envs(root) -> None:
    """mini's shop, in two environments, and a renamed copy of it: 8 templates."""
    app = (root / "blueprints/shop/app.yaml").read_text()
    twice = app + "  prod:\n    region: eu-west-1\n    values:\n      domain: shop.example\n"
    (root / "blueprints/shop/app.yaml").write_text(twice)
    shutil.copytree(root / "blueprints/shop", root / "blueprints/store")
    (root / "blueprints/store/app.yaml").write_text(twice.replace("name: shop",
                                                                  "name: store"))


def test_narrowed_synths_keep_every_other_templates_cache_entries(mini, cli):
    _two_apps_two_envs(mini)
    assert "lint cache 0/8" in cli(mini, "synth").out
    subsets = [["--app", "shop"], ["--env", "prod"], ["--app", "store", "--env", "dev"], [],
               ["--env", "dev"], ["--app", "shop", "--app", "store"]]
    for narrowed in subsets:
        run = cli(mini, "synth", *narrowed)
        assert run.code == 0
        count = run.out.split("lint cache ", 1)[1].split(",", 1)[0]
        assert count.split("/")[0] == count.split("/")[1], (narrowed, run.out)


def test_a_full_synth_drops_the_entries_of_templates_that_are_gone(mini, cli):
    _two_apps_two_envs(mini)
    cli(mini, "synth", "--app", "store")
    shutil.rmtree(mini / "blueprints/store")
    cli(mini, "synth", "--app", "shop")
    cached = json.loads((mini / ".cache/lint.json").read_text())
    assert len(cached["paths"]) == 8
    cli(mini, "synth")
    cached = json.loads((mini / ".cache/lint.json").read_text())
    assert sorted(cached["paths"]) == [f"build/{env}/shop/0{n}-{stage}.yaml"
                                       for env in ("dev", "prod")
                                       for n, stage in ((1, "data"), (2, "code"))]
    assert set(cached["entries"]) == set(cached["paths"].values())


def test_a_cold_cli_synth_starts_linting_before_it_builds_and_stops_it_on_an_error(
        mini, cli, monkeypatch):
    import generator.build

    hosts, seen_by_load = [], []
    real_start, real_load = LintPool.start, generator.build.make_app

    def start(pool):
        first = not pool.host
        real_start(pool)
        if first:
            hosts.append(pool.host)

    def make_app(*args):
        seen_by_load.append(len(hosts))
        return real_load(*args)

    monkeypatch.setattr(LintPool, "start", start)
    monkeypatch.setattr(generator.build, "make_app", make_app)
    assert cli(mini, "synth").code == 0
    assert seen_by_load == [1]                  # the host was forked before the build
    write_files(mini, {"blueprints/shop/01-data.yaml": "resources: [\n"})
    shutil.rmtree(mini / ".cache")
    run = cli(mini, "synth")
    assert run.code == 1 and "error: blueprints/shop/01-data.yaml:" in run.err
    assert len(hosts) == 2
    assert group_gone(hosts[1])                 # stopped with the failed synth


def test_with_no_cache_file_the_lint_host_is_forked_before_anything_is_read(
        mini, cli, monkeypatch):
    import generator.lint
    from generator.lint import CACHE_PATH, Linter

    events = []
    real_start, real_cache = LintPool.start, generator.lint.LintCache.__init__

    def start(pool):
        if not pool.host:
            events.append("host")
        real_start(pool)

    def cache(self, path):
        events.append("cache")
        real_cache(self, path)

    monkeypatch.setattr(LintPool, "start", start)
    monkeypatch.setattr(generator.lint.LintCache, "__init__", cache)
    path = str(mini / CACHE_PATH)
    with Linter.cold_start(path):
        assert events == ["host", "cache"]        # cold: the fork comes first
    assert cli(mini, "synth").code == 0          # fills the cache
    events.clear()
    with Linter.cold_start(path) as warm:
        assert events == ["cache"] and warm.cache.entries   # warm: no host at all


def test_a_cache_that_cannot_be_read_after_the_fork_stops_the_host(mini, monkeypatch):
    import generator.lint
    from generator.lint import CACHE_PATH, Linter

    hosts = []
    real_start = LintPool.start

    def start(pool):
        real_start(pool)
        hosts.append(pool.host)

    def broken(self, path):
        raise KeyboardInterrupt                # Ctrl-C while the cache is read, say

    monkeypatch.setattr(LintPool, "start", start)
    monkeypatch.setattr(generator.lint.LintCache, "__init__", broken)
    with pytest.raises(KeyboardInterrupt):
        Linter.cold_start(str(mini / CACHE_PATH))
    assert hosts and group_gone(hosts[0])


@pytest.mark.parametrize("text", ["[]", "null", '{"entries": [], "paths": 1}'])
def test_a_cache_file_of_the_wrong_shape_is_an_empty_cache(mini, text):
    from importlib.metadata import version

    from generator.lint import CACHE_FORMAT, CACHE_PATH, LintCache

    path = mini / CACHE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("{", f'{{"format": {CACHE_FORMAT}, '
                                      f'"cfn-lint": "{version("cfn-lint")}", ', 1))
    assert LintCache(str(path)).entries == {}


def test_a_lint_worker_killed_mid_synth_is_a_clear_error_and_writes_nothing(
        mini, cli, monkeypatch):
    import signal

    import generator.lint

    monkeypatch.setattr(generator.lint, "_rules", lambda: None)
    monkeypatch.setattr(generator.lint, "_lint_one",
                        lambda job: os.kill(os.getpid(), signal.SIGKILL))
    before = tree_digest(mini / "build")
    run = cli(mini, "synth")
    assert run.code == 1
    assert "cfn-lint worker" in run.err and "stopped before its work was done" in run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert tree_digest(mini / "build") == before


def test_a_process_that_synthesizes_again_builds_the_rules_once_itself(mini, monkeypatch):
    import generator.lint
    from generator.lint import Linter

    built_here = []
    monkeypatch.setattr(generator.lint, "_rules", lambda: built_here.append(1))
    monkeypatch.setattr(generator.lint, "_lint_one", lambda job: [])
    monkeypatch.setattr(Linter, "hosts_started", 0)
    synth(str(mini), cache_path=None)
    assert built_here == []               # the first one: in its host, beside the synth
    synth(str(mini), cache_path=None)
    assert built_here == [1]              # then here, for every later host to inherit


def test_cfn_lint_crashing_on_a_template_names_it(mini, monkeypatch):
    import generator.lint

    def crash(job):
        if job[0].endswith("02-code.yaml"):
            raise KeyError("a cfn-lint bug")
        return []

    monkeypatch.setattr(generator.lint, "_rules", lambda: None)
    monkeypatch.setattr(generator.lint, "_lint_one", crash)
    with pytest.raises(RuntimeError, match=r"(?s)cfn-lint crashed on build/dev/shop/"
                                           r"02-code.yaml:.*KeyError: 'a cfn-lint bug'"):
        synth(str(mini), cache_path=None)
