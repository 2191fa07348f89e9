"""Reading blueprint files: Jinja2 rendering, then YAML parsing that keeps positions.

Mappings become `Map` (a dict that remembers where each key and value stood), lists
become `Seq`, CloudFormation short forms (`!Ref`, `!GetAtt`, …) and `!Output` become
`Tag` values. Scalars stay plain Python values; their positions live in the parent.
Rendering keeps lines where they are as long as a blueprint only uses `{{ … }}`
expressions, so positions name the line the user wrote.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
import yaml

from .errors import BlueprintError, GeneratorError, Mark, Problem, did_you_mean
from .paths import PathError, inside, read_text, resolve
from .sandbox import (
    NOT_ALLOWED,
    LimitExceeded,
    Sandbox,
    first_tag_column,
    forbidden,
    isolated,
    template_line,
)
from .yamlerrors import explain

INTRINSIC_TAGS = (
    "Ref", "GetAtt", "Sub", "Join", "Select", "If", "Equals", "FindInMap", "Base64",
    "Split", "Not", "And", "Or", "ImportValue", "GetAZs", "Cidr", "Condition",
)
OUTPUT_TAG = "Output"

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Map(dict):
    """A YAML mapping with the position of itself, each key and each value."""

    mark: Mark
    key_marks: dict
    value_marks: dict


class Seq(list):
    """A YAML sequence with the position of itself and of each item."""

    mark: Mark
    item_marks: list


@dataclass(frozen=True)
class Tag:
    """A tagged value such as `!Ref Entries` or `!Output table.TableArn`."""

    name: str
    value: Any
    mark: Mark

    def __repr__(self) -> str:
        return f"!{self.name} {self.value!r}"


def _mark(file: str, m, lines: list | None = None) -> Mark:
    """A YAML mark as a Mark; `lines` maps rendered lines back to the lines written."""
    line = m.line + 1
    if lines and line <= len(lines) and lines[line - 1]:
        line = lines[line - 1]
    return Mark(file, line, m.column + 1)


def _mapping_paths(root, name: Callable[[Any], str]) -> dict[int, str]:
    """`resources.Entries`: where each mapping node of a document is, by id, named where
    it first appears in the document (an anchor where it is defined, not where an alias
    or a merge repeats it); one walk, made only for an error."""
    paths: dict[int, str] = {}
    stack = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in paths:
            continue
        paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            children = [(v, f"{path}.{name(k)}" if path else name(k))
                        for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        else:
            continue
        stack += reversed(children)      # the first child is walked first
    return paths


class _Loader(_BaseLoader):
    """Safe loader building Map/Seq/Tag with positions, refusing duplicate keys."""

    source_file = "<string>"
    source_lines: list | None = None
    problems: list

    def mark(self, m) -> Mark:
        return _mark(self.source_file, m, self.source_lines)

    def construct_document(self, node):
        self.unplaced: list[tuple[int, Any, str]] = []   # problems still without a path
        data = super().construct_document(node)
        if self.unplaced:
            paths = _mapping_paths(node, self._key_name)
            for index, mapping, key in self.unplaced:
                problem, path = self.problems[index], paths.get(id(mapping), "")
                self.problems[index] = Problem(problem.mark, f"{path}.{key}".strip("."),
                                               problem.message)
        return data

    def _key_name(self, key_node) -> str:
        key = self.construct_object(key_node)
        return key if isinstance(key, str) else str(key)

    def construct_yaml_map(self, node):
        data = Map()
        data.mark = self.mark(node.start_mark)
        data.key_marks, data.value_marks = {}, {}
        yield data
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                self._problem(key_node, node, "", "a mapping key must be a plain word")
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in data:             # also one given beside a `<<` that brings it in
                first = data.key_marks[key]
                self._problem(key_node, node, key,
                              f"duplicate key '{key}' (first defined at line {first.line}); "
                              "remove one of them")
                continue
            data[key] = self.construct_object(value_node, deep=True)
            data.key_marks[key] = self.mark(key_node.start_mark)
            data.value_marks[key] = self.mark(value_node.start_mark)

    def _problem(self, key_node, mapping, key: str, message: str) -> None:
        self.problems.append(Problem(self.mark(key_node.start_mark), key, message))
        self.unplaced.append((len(self.problems) - 1, mapping, key))

    def construct_yaml_seq(self, node):
        data = Seq()
        data.mark = self.mark(node.start_mark)
        data.item_marks = [self.mark(n.start_mark) for n in node.value]
        yield data
        data.extend(self.construct_object(n, deep=True) for n in node.value)

    def construct_tag(self, node):
        name = node.tag[1:]
        if isinstance(node, yaml.ScalarNode):
            value = self.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = self._now(self.construct_yaml_seq(node))
        else:
            value = self._now(self.construct_yaml_map(node))
        return Tag(name, value, self.mark(node.start_mark))

    @staticmethod
    def _now(steps):
        """Run a two-step constructor to the end (a tag's value is needed at once)."""
        data = next(steps)
        for _ in steps:
            pass
        return data

    def construct_unknown(self, node):
        self.problems.append(Problem(
            self.mark(node.start_mark), "",
            f"unknown tag '{node.tag}'; use one of "
            + ", ".join("!" + t for t in INTRINSIC_TAGS + (OUTPUT_TAG,))))
        return None


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_yaml_seq)
for _tag in INTRINSIC_TAGS + (OUTPUT_TAG,):
    _Loader.add_constructor("!" + _tag, _Loader.construct_tag)
_Loader.add_constructor(None, _Loader.construct_unknown)


def parse_yaml(text: str, file: str, lines: list | None = None,
               written: str | None = None) -> Any:
    """Parse YAML text into Map/Seq/Tag values, raising BlueprintError on any problem.

    `lines[i]` is the line the user wrote for rendered line i+1 (None: the same);
    `written` is the text before rendering, to show the `{{ }}` behind a broken line."""
    problems = _tab_problems(text, file, lines)
    if problems:
        raise BlueprintError(problems)
    loader = _Loader(text)
    loader.source_file = file
    loader.source_lines = lines
    loader.problems = []
    try:
        node = loader.get_single_node()
        if "&" in text:             # only anchors make aliases, and aliases make size
            _check_size(node, file)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise BlueprintError([Problem(Mark(file, 1, 1), "", "invalid YAML: nested too "
                                      "deeply (hundreds of levels); flatten it")]) from None
    except yaml.MarkedYAMLError as exc:
        line, col, message = explain(exc, text)
        where = _mark(file, yaml.Mark("", 0, line - 1, col - 1, None, None), lines)
        message += _rendered_hint(written, where.line, text.split("\n")[line - 1:line])
        raise BlueprintError([Problem(where, "", message)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        where = _mark(file, yaml.Mark("", 0, line - 1, col - 1, None, None), lines)
        raise BlueprintError([Problem(where, "", f"invalid YAML: the control character "
                                                 f"U+{exc.character:04X} is not allowed; "
                                                 "remove it")]) from None
    finally:
        loader.dispose()
    if loader.problems:
        raise BlueprintError(loader.problems)
    return data


MAX_NODES = 200_000


def _check_size(root: Any, file: str) -> None:
    """Aliases share nodes, so a few lines can stand for billions of values ("billion
    laughs"): count the values a document expands to before building any of them."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 0) for c in children)
            if sizes[id(node)] > MAX_NODES:
                mark = _mark(file, root.start_mark)
                raise BlueprintError([Problem(mark, "", f"invalid YAML: its anchors and "
                                              f"aliases expand to more than {MAX_NODES:,} "
                                              "values; write it out, or use fewer aliases")])
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: Any) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _rendered_hint(written: str | None, line: int, rendered: list[str]) -> str:
    """When the line was written with `{{ }}`, what it rendered to, and how to keep it."""
    if written is None:
        return ""
    lines = written.split("\n")
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    found = _SIMPLE.search(source) or re.search(r"\{\{.*?\}\}", source)
    if not found or not rendered or rendered[0] == source:
        return ""
    return (f" (this line has {found.group(0)}, which rendered it as {rendered[0].strip()!r}; "
            f"quote the value, e.g. \"{found.group(0)}\", if the value holds YAML syntax)")


def _tab_problems(text: str, file: str, lines: list | None) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            written = lines[number - 1] if lines and number <= len(lines) else None
            problems.append(Problem(
                Mark(file, written or number, line.index("\t") + 1), "",
                "tab character in indentation; YAML needs spaces"))
    return problems


_JINJA = Sandbox(autoescape=False)
_JINJA.filters["_typed_value"] = lambda value: _typed_value(value)


_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_SYNTAX = re.compile(r"\{[{%#]")


def render(text: str, file: str, values: dict) -> str:
    return render_with_lines(text, file, values)[0]


_LINE_TAG = re.compile("\x00(\\d+)\x00")


def _written_lines(text: str, rendered: str, values: dict) -> list | None:
    """For each rendered line, the line of the template it came from.

    Renders once more with every template line tagged at its end (a NUL-wrapped number,
    which cannot occur in YAML); a line ending inside a `{{ }}`/`{% %}` tag is not tagged.
    None when the tagged render does not line up with the real one."""
    tagged, depth = [], 0
    for number, line in enumerate(text.split("\n"), 1):
        depth += len(re.findall(r"\{[{%#]", line)) - len(re.findall(r"[}%#]\}", line))
        tagged.append(line if depth > 0 else f"{line}\x00{number}\x00")
    try:
        out = _JINJA.from_string("\n".join(tagged)).render(**values).split("\n")
    except jinja2.TemplateError:
        return None
    if len(out) != len(rendered.split("\n")):
        return None
    return [int(found[0]) if (found := _LINE_TAG.findall(line)) else None for line in out]


def render_with_lines(text: str, file: str, values: dict) -> tuple[str, list | None]:
    """Render a blueprint with Jinja2 in the sandbox; every failure is a located error.

    Most blueprints only use `{{ name }}`: those are substituted directly (what Jinja2
    would output for them), which is many times faster than compiling a template and
    evaluates nothing.
    """
    simple = _SIMPLE.sub("", text)
    if not _JINJA_SYNTAX.search(simple) and all(
            m.group(1) in values for m in _SIMPLE.finditer(text)):
        return _substituted(text, values), None
    try:
        return isolated(_render_jinja, text, file, values)
    except LimitExceeded as exc:
        raise BlueprintError([Problem(Mark(file, 1, 1), "", f"rendering this file took {exc}; "
                                      "a blueprint's {{ }} and {% %} must stay small "
                                      "(nothing was written)")]) from None


def _render_jinja(text: str, file: str, values: dict) -> tuple[str, list | None]:
    """The Jinja2 path of `render_with_lines`, run in a child process with limits."""
    try:
        refused = forbidden(_JINJA, text)
        if refused:
            raise BlueprintError([Problem(Mark(file, line, col), "", message)
                                  for line, col, message in refused])
        typed = _whole_values(text)
        rendered = _JINJA.from_string(typed).render(**values)
        return rendered, _written_lines(typed, rendered, values)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno or 1
        raise BlueprintError([Problem(Mark(file, line, first_tag_column(text, line)), "",
                                      _syntax_message(exc.message or ""))]) from None
    except jinja2.UndefinedError as exc:
        raise BlueprintError([_undefined_problem(exc, text, file, values)]) from None
    except GeneratorError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a template raises is the user's
        line = template_line(exc)
        raise BlueprintError([Problem(
            Mark(file, line, first_tag_column(text, line)), "", _runtime_message(exc))]
        ) from None


def _syntax_message(message: str) -> str:
    """Jinja2's syntax error, with the filter or test meant and what to close."""
    unknown = re.match(r"No (filter|test) named '([^']+)'", message)
    if unknown:
        kind, name = unknown.groups()
        known = _JINJA.filters if kind == "filter" else _JINJA.tests
        return (f"template error: there is no {kind} named '{name}'"
                + (did_you_mean(name, known) or f"; Jinja2's documentation lists them "
                   f"(Template Designer Documentation, List of Builtin {kind.title()}s)"))
    if message.startswith("unexpected '}'") or "expected token 'end of print statement'" \
            in message:
        return (f"template error: {message}; a {{{{ }}}} on this line is not closed "
                "right (each '{{' needs its '}}')")
    return f"template error: {message}"


# A value that is exactly one {{ expression }}, bare or quoted, after `key:` or `- `.
_WHOLE = re.compile(r"""^(?P<head>[ \t]*(?:-[ \t]+)*(?:[^\s#'"{}\[\],-][^#]*?:[ \t]+)?)"""
                    r"""(?P<quote>["']?)\{\{(?P<expr>[^{}]*)\}\}(?P=quote)"""
                    r"""(?P<tail>[ \t]*(?:#.*)?)$""", re.M)


def _typed_value(value: Any) -> str:
    """A value as YAML that reads back as the same value (JSON is YAML)."""
    if isinstance(value, jinja2.Undefined):
        str(value)                      # raises the located "undefined value" error
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(str(value), ensure_ascii=False)


def _whole_values(text: str) -> str:
    """Each value that is exactly one `{{ … }}` is rendered through `_typed_value`, so
    `memory: "{{ memory }}"` (the form an editor parses) is the number 512 and a text value
    stays text, whatever it looks like. The value is output by Jinja2, never written back
    into the template: it is data, not template code."""
    def typed(found: re.Match) -> str:
        if not found.group("head").strip():
            return found.group(0)     # a line of its own may inject YAML text on purpose
        return (f"{found.group('head')}{{{{ ({found.group('expr')}) | _typed_value }}}}"
                f"{found.group('tail')}")
    return _WHOLE.sub(typed, text)


def _substituted(text: str, values: dict) -> str:
    """The fast path: `{{ name }}`s replaced by their values in one pass over the written
    text (a value holding `{{ }}` is never looked at again)."""
    lines = []
    for line in text.split("\n"):
        whole = _WHOLE.fullmatch(line)
        name = whole.group("expr").strip() if whole else ""
        if whole and whole.group("head").strip() and name in values:
            lines.append(whole.group("head") + _typed_value(values[name])
                         + whole.group("tail"))
        else:
            lines.append(_SIMPLE.sub(lambda m: str(values[m.group(1)]), line))
    return "\n".join(lines)


def _runtime_message(exc: Exception) -> str:
    if isinstance(exc, MemoryError):
        return ("{{ … }} needs more memory than a blueprint may use; keep values small "
                "(nothing was written)")
    if isinstance(exc, jinja2.sandbox.SecurityError):
        message = str(exc)
        if NOT_ALLOWED not in message:
            message += f": {NOT_ALLOWED}"
        return f"{{{{ … }}}} refused: {message}"
    return (f"{{{{ … }}}} failed ({type(exc).__name__}: {exc}); a blueprint's expressions "
            "may only combine the environment's values (see app.yaml)")


def _undefined_problem(exc: jinja2.UndefinedError, text: str, file: str,
                       values: dict) -> Problem:
    line = template_line(exc)
    message = str(exc)
    if "is unsafe" in message:
        return Problem(Mark(file, line, first_tag_column(text, line)), "",
                       f"{{{{ … }}}} refused: {message} {NOT_ALLOWED}")
    attribute = re.fullmatch(r"'(.+) object' has no attribute '(.+)'", message)
    if attribute:
        return Problem(Mark(file, line, first_tag_column(text, line)), "",
                       f"{{{{ … }}}}: a {attribute.group(1)} value has no attribute "
                       f"'{attribute.group(2)}'; use the value itself, e.g. {{{{ domain }}}}")
    name = _undefined_name(message)
    known = ", ".join(sorted(values)) or "none"
    env = values.get("env")
    where = f"environment '{env}' (app.yaml environments.{env}.values)" if env else \
        "the environment"
    return Problem(Mark(file, line, _column_of(text, line, name)), "",
                   f"undefined value '{name}' in {{{{ … }}}}; {where} defines: {known}"
                   + did_you_mean(name, values))


def _undefined_name(message: str) -> str:
    found = re.search(r"'([^']+)' is undefined", message)
    return found.group(1) if found else message


def _column_of(text: str, line: int, name: str) -> int:
    lines = text.splitlines()
    if 0 < line <= len(lines):
        found = re.search(r"\{\{-?\s*" + re.escape(name), lines[line - 1])
        if found:
            return found.start() + 1
    return 1


def load_file(root: str, shown: str, values: dict | None) -> Any:
    """Read (inside the project only), optionally render, and parse one blueprint file."""
    try:
        real = resolve(root, shown)
        if not inside(os.path.realpath(os.path.join(root, "blueprints")), real):
            raise PathError(f"{shown} leads to "
                            f"{os.path.relpath(real, os.path.realpath(root))}, outside "
                            "blueprints/; a stage file must be a file of blueprints/")
        text = read_text(root, shown, real)
    except PathError as exc:
        raise BlueprintError([Problem(Mark(shown, exc.line, exc.col), "", exc.message)]
                             ) from None
    if values is None:
        return parse_yaml(text, shown)
    rendered, lines = render_with_lines(text, shown, values)
    return parse_yaml(rendered, shown, lines, text)
