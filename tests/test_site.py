"""The raffle's pages render with the API URL from the stack outputs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from generator.errors import GeneratorError
from generator.site import render_site

from .conftest import REPO


def render(values: dict):
    return render_site(str(REPO), "site_assets/raffle", values)
URL = "https://api.example.test/raffle"


class _Inputs(HTMLParser):
    """Collects inputs, labels and external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs, self.labels, self.external = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            self.inputs.append(attrs.get("id"))
        if tag == "label":
            self.labels.add(attrs.get("for"))
        for name in ("src", "href"):
            if re.match(r"(https?:)?//", attrs.get(name) or ""):
                self.external.append(attrs[name])


@pytest.fixture(scope="module")
def pages():
    return {f.key: f for f in render({"api_url": URL})}


def test_pages_carry_the_api_url(pages):
    for page in ("apply.html", "draw.html"):
        assert f'<meta name="api-url" content="{URL}">' in pages[page].body.decode()


def test_api_url_is_escaped(tmp_path):
    files = render({"api_url": 'https://x"><script>alert(1)</script>'})
    html = next(f for f in files if f.key == "apply.html").body.decode()
    assert "<script>alert(1)" not in html and "&#34;&gt;&lt;script&gt;" in html


def test_missing_value_is_an_error_naming_it():
    with pytest.raises(GeneratorError, match="'api_url' is undefined"):
        render({})


def test_every_input_has_a_label_and_nothing_is_third_party(pages):
    for key in ("apply.html", "draw.html"):
        parser = _Inputs()
        parser.feed(pages[key].body.decode())
        assert set(parser.inputs) <= parser.labels
        assert parser.external == []
        assert 'name="viewport"' in pages[key].body.decode()


def test_layouts_are_not_published(pages):
    assert sorted(pages) == ["apply.html", "draw.html", "raffle.js", "style.css"]
    assert "{%" not in pages["draw.html"].body.decode()


def test_content_types_and_cache_headers(pages):
    assert pages["apply.html"].content_type == "text/html; charset=utf-8"
    assert pages["apply.html"].cache_control == "no-cache"
    assert pages["raffle.js"].content_type == "text/javascript; charset=utf-8"
    assert pages["style.css"].cache_control == "public, max-age=300"


def test_rendering_is_deterministic():
    first = [(f.key, f.sha256) for f in render({"api_url": URL})]
    assert first == [(f.key, f.sha256) for f in render({"api_url": URL})]
    assert first != [(f.key, f.sha256) for f in render({"api_url": URL + "x"})]
