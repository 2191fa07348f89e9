"""Progress: a live table on a terminal, timestamped lines without one, a synth bar."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console as RichConsole

import generator
from generator.cli import synth_progress
from generator.deploy.live import LiveConsole, StampedConsole, make_console

from .conftest import REPO


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def shown(table) -> str:
    out = io.StringIO()
    RichConsole(file=out, width=200).print(table)
    return out.getvalue()


def test_without_a_terminal_each_message_is_a_timestamped_line():
    out = io.StringIO()
    console = StampedConsole(out, now=lambda: "12:00:03")
    with console:
        console.say("shop-dev-data", "Orders CREATE_COMPLETE")
    assert out.getvalue() == "12:00:03 [shop-dev-data] Orders CREATE_COMPLETE\n"


def test_the_live_view_has_state_resources_elapsed_and_event_per_stack():
    clock = Clock()
    console = LiveConsole(io.StringIO(), clock=clock, live=False)
    console.begin("shop-dev-data", 3)
    console.begin("shop-dev-code", 2)
    console.say("shop-dev-data", "Orders CREATE_COMPLETE")
    console.say("shop-dev-data", "Other CREATE_IN_PROGRESS")
    clock.now = 101.5
    console.say("shop-dev-code", "unchanged")
    clock.now = 104.0
    text = shown(console.table())
    data = next(line for line in text.splitlines() if "shop-dev-data" in line)
    assert data.split()[:5] == ["shop-dev-data", "deploying", "1/3", "4.0", "s"]
    assert "Other CREATE_IN_PROGRESS" in data
    code = next(line for line in text.splitlines() if "shop-dev-code" in line)
    assert code.split()[:5] == ["shop-dev-code", "unchanged", "0/2", "1.5", "s"]


def test_change_sets_print_above_the_live_view_and_questions_pause_it():
    out = Terminal()
    console = LiveConsole(out, ask=lambda question: "yes")
    with console:
        console.begin("s", 1)
        console.lines(["[s] change set (create):", "  Add  Orders"])
        assert console.ask("execute? ") == "yes"
    assert "change set (create)" in out.getvalue()


def test_the_command_line_picks_the_view_by_its_output(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert isinstance(make_console(io.StringIO()), StampedConsole)
    assert isinstance(make_console(Terminal()), LiveConsole)
    monkeypatch.setenv("CI", "true")
    assert isinstance(make_console(Terminal()), StampedConsole)


def test_synth_reports_progress_as_it_builds_each_app():
    calls = []
    result = generator.synthesize(str(REPO), ["dev"], lint=False,
                                  progress=lambda done, total: calls.append((done, total)))
    apps = len({stack.app for stack in result.stacks})
    assert apps >= 2 and calls == [(done, apps) for done in range(1, apps + 1)]


@pytest.mark.parametrize("stream, drawn", [(Terminal(), True), (io.StringIO(), False)])
def test_the_synth_bar_is_drawn_on_a_terminal_for_many_stacks(stream, drawn):
    threads = threading.active_count()
    with synth_progress(stream, many=2) as update:
        update(1, 3)
        update(3, 3)
        # drawn as it goes, by no thread of its own: lint workers may be forked meanwhile
        assert threading.active_count() == threads
        assert ("3/3" in stream.getvalue() or "100%" in stream.getvalue()) is drawn
    assert bool(stream.getvalue()) is drawn
    quiet = Terminal()
    with synth_progress(quiet, many=200) as update:
        update(3, 3)
    assert quiet.getvalue() == ""
