"""Blueprints are untrusted: a stage file trying to run code, read the environment or
reach other files gets a located error, nothing is evaluated and build/ is untouched."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from generator.errors import GeneratorError
from generator.site import render_site

from .conftest import tree_digest, write_files

STAGE = "blueprints/shop/03-evil.yaml"


def stage(expression: str) -> str:
    """A valid stage whose description is the expression on line 2."""
    return ("resources:\n"
            f"  Q:\n    kind: table\n    key: {{id: S}}\n    name: \"{expression}\"\n")


ESCAPES = {
    "globals through a built-in": (
        "{{ cycler.__init__.__globals__.os.popen('touch CANARY').read() }}",
        "5:22: '__init__': Python internals are not allowed in a blueprint"),
    "class hierarchy": (
        "{{ domain.__class__.__mro__[1].__subclasses__() }}",
        "5:22: '__class__': Python internals are not allowed in a blueprint"),
    "attr filter": (
        "{{ domain | attr('__class__') }}",
        "5:30: '__class__': Python internals are not allowed in a blueprint"),
    "item lookup": (
        "{{ domain['__class__'] }}",
        "5:23: '__class__': Python internals are not allowed in a blueprint"),
    "include another file": (
        "{% include '/etc/passwd' %}",
        "5:15: {% include %} is not allowed in a blueprint"),
    "import": (
        "{% import 'x.yaml' as x %}",
        "5:15: {% import %} is not allowed in a blueprint"),
    "extends": (
        "{% extends '../app.yaml' %}",
        "5:15: {% extends %} is not allowed in a blueprint"),
    "a name built at run time": (
        "{{ domain | attr('__cla' ~ 'ss__') }}",
        "5:12: {{ … }} refused: access to attribute '__class__' of 'str' object is unsafe."),
    "huge repetition": (
        "{{ 'a' * 100000000 }}",
        "5:12: {{ … }} refused: repeating a value into more than 1,000,000 characters or "
        "items is not allowed in a blueprint"),
    "huge power": (
        "{{ 9 ** 99999999 }}",
        "5:12: {{ … }} refused: a power above 1000 (or a result above 100,000 bits) is not "
        "allowed in a blueprint"),
    "no built-in globals": (
        "{{ lipsum() }}",
        "5:12: undefined value 'lipsum' in {{ … }}"),
    "no environment": (
        "{{ environ['HOME'] }}",
        "5:12: undefined value 'environ' in {{ … }}"),
    "type error": (
        "{{ domain + 1 }}",
        "5:12: {{ … }} failed (TypeError: can only concatenate str (not \"int\") to str)"),
    "division by zero": (
        "{{ 1 // 0 }}",
        "5:12: {{ … }} failed (ZeroDivisionError: integer division or modulo by zero)"),
    "attribute of a plain value": (
        "{{ domain.name }}",
        "5:12: {{ … }}: a str value has no attribute 'name'; use the value itself"),
}


@pytest.mark.parametrize("case", ESCAPES, ids=str)
def test_an_escape_is_a_located_error_and_nothing_runs(case, mini, cli, monkeypatch):
    expression, expected = ESCAPES[case]
    monkeypatch.chdir(mini)
    before = tree_digest(mini / "build")
    write_files(mini, {STAGE: stage(expression)})

    run = cli(mini, "synth")

    assert run.code == 1, run.out + run.err
    assert f"error: {STAGE}:{expected}" in run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert not (mini / "CANARY").exists()
    assert tree_digest(mini / "build") == before


def test_allowed_jinja_still_works(mini, cli):
    write_files(mini, {STAGE: stage("{{ domain | upper | replace('.', '-') }}-{{ env }}"
                                    "{% if region == 'eu-west-1' %}-eu{% endif %}")})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 0, run.err
    template = (mini / "build/dev/shop/03-evil.yaml").read_text()
    assert "TableName: SHOP-EXAMPLE-dev-eu" in template


SITE_ESCAPES = {
    "globals": ("<p>{{ self.__init__.__globals__ }}</p>", "index.html:2:12",
                "'__init__': Python internals are not allowed in a site page"),
    "include outside the site": ("{% include '../../app.yaml' %}", "index.html:2:4",
                                 "{% include %} of '../../app.yaml'"),
    "run-time attribute": ("{{ api_url | attr('__cla' ~ 'ss__') }}", "index.html:2:1",
                           "refused: access to attribute '__class__'"),
}


@pytest.mark.parametrize("case", SITE_ESCAPES, ids=str)
def test_site_pages_render_in_the_sandbox(case, tmp_path):
    body, where, expected = SITE_ESCAPES[case]
    write_files(tmp_path, {"site_assets/shop/index.html": "<h1>Shop</h1>\n" + body + "\n"})
    with pytest.raises(GeneratorError) as raised:
        render_site(str(tmp_path), "site_assets/shop", {"api_url": "https://x"})
    assert f"site_assets/shop/{where}: " in str(raised.value)
    assert expected in str(raised.value)


def test_site_partials_are_included_from_the_site_folder_only(tmp_path):
    write_files(tmp_path, {"site_assets/shop/_layout.html": "<main>{{ api_url }}</main>\n",
                           "site_assets/shop/index.html": "{% include '_layout.html' %}"})
    files = render_site(str(tmp_path), "site_assets/shop", {"api_url": "https://x"})
    assert [(f.key, f.body) for f in files] == [("index.html", b"<main>https://x</main>\n")]


COSTLY = {
    "exponential macro": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}"
                         "{% endmacro %}{{ f(40) }}",
    "nested loops": "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% for c in 'x' * 1000 %}"
                    "{% endfor %}{% endfor %}{% endfor %}",
    "a huge power": "{{ ((10 ** 1000) ** 1000) ** 1000 }}",
    "a huge width": "{{ 'a'.center(999999999) }}",
    "a huge filter width": "{{ 'a' | center(999999999) }}",
    "doubling": "{% set a = 'a' * 1000000 %}" + "{% set a = a ~ a %}" * 11 + "{{ a | length }}",
}


@pytest.mark.parametrize("case", COSTLY, ids=str)
def test_costly_templates_are_stopped_with_a_located_error(case, mini, cli, monkeypatch):
    from generator import sandbox

    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 1)
    monkeypatch.setattr(sandbox, "RENDER_MEMORY", 300 << 20)
    before = tree_digest(mini / "build")
    write_files(mini, {STAGE: "description: x\n" + COSTLY[case] + "\nresources:\n"
                              "  Q:\n    kind: table\n    key: {id: S}\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert f"error: {STAGE}:" in run.err and "Traceback" not in run.err
    assert any(words in run.err for words in ("not allowed in a blueprint", "must stay small",
                                              "more memory than a blueprint may use"))
    assert tree_digest(mini / "build") == before


def test_aliases_that_expand_to_billions_are_refused(mini, cli):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    write_files(mini, {STAGE: "\n".join(lines) + "\nresources: {}\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert f"error: {STAGE}:1:1: invalid YAML: its anchors and aliases expand to more than " \
           "200,000 values" in run.err


def _interrupted_render(value):
    os.kill(os.getpid(), signal.SIGINT)     # what Ctrl-C at a terminal does to the child
    return value


def test_ctrl_c_is_the_parent_s_to_handle_not_a_render_over_its_limits():
    """The render child ignores SIGINT: the synth gets KeyboardInterrupt ("interrupted",
    exit 130) and kills the child; the child never dies of it into a LimitExceeded."""
    from generator.sandbox import isolated

    assert isolated(_interrupted_render, "rendered") == "rendered"


def _slow_render(seconds):
    import time

    time.sleep(seconds)
    return "late"


def test_ctrl_c_right_after_the_fork_still_reaps_the_render_child(monkeypatch):
    """Ctrl-C at the worst moment (the child forked, this process not yet waiting on it)
    is held until the child can be killed and reaped: none keeps running."""
    from generator.sandbox import isolated

    real_fork, children = os.fork, []

    def fork():
        pid = real_fork()
        if pid:
            children.append(pid)
            # to this thread: the process may have others (pytest-xdist's), which do not
            # block it; the command line has none
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(KeyboardInterrupt):
        isolated(_slow_render, 5)
    monkeypatch.undo()
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)      # killed and reaped already
