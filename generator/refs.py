"""References inside and between stages, and the order stages deploy in.

Inside a stage, `!Ref`, `!GetAtt`, `!Sub` and `!If`/`!Condition` must name things the stage
defines; between stages, `!Output <stage>.<name>` must name an output of another stage of
the same app. Each `!Output` is an edge of the dependency graph; a cycle is an error that
names it. Order: dependencies first, ties broken by the NN of the stage files.
"""

from __future__ import annotations

import heapq
import re
from typing import Any

from .errors import Mark, Problems, did_you_mean
from .source import Map, Seq, Tag
from .spec import At

PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
          "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def attributes_of(stage) -> dict[str, frozenset[str] | None]:
    """Logical ids a stage's intrinsics may name, with their `!GetAtt` attributes."""
    ids: dict[str, frozenset[str] | None] = {}
    for logical_id, resource in stage.resources.items():
        ids[logical_id] = resource.kind.attributes
        for suffix, attrs in resource.kind.parts.items():
            ids[logical_id + suffix] = attrs
    return ids


def parse_output(tag: Tag) -> tuple[str, str] | None:
    if isinstance(tag.value, str) and tag.value.count(".") == 1:
        stage, name = tag.value.split(".")
        if stage and name:
            return stage, name
    return None


class _Checker:
    def __init__(self, stage, stages: dict, problems: Problems,
                 broken: set[str] = frozenset()) -> None:
        self.stage, self.stages, self.problems = stage, stages, problems
        self.broken = broken
        self.ids = attributes_of(stage)
        self.edges: dict[str, Mark] = {}
        self.in_step = False

    def walk(self, value: Any, at: At, local: frozenset = frozenset()) -> None:
        if isinstance(value, Map):
            for key, item in value.items():
                self.walk(item, at.key(key, value.value_marks[key]), local)
        elif isinstance(value, (Seq, list)):
            marks = getattr(value, "item_marks", None)
            for index, item in enumerate(value):
                self.walk(item, at.item(index, marks[index] if marks else None), local)
        elif isinstance(value, Tag):
            tag_at = At(at.problems, value.mark, at.path)
            getattr(self, f"tag_{value.name}", self.tag_other)(value, tag_at, local)

    def tag_other(self, tag: Tag, at: At, local: frozenset) -> None:
        self.walk(tag.value, at, local)

    def tag_Ref(self, tag: Tag, at: At, local: frozenset) -> None:
        if not isinstance(tag.value, str):
            return at.error(f"!Ref takes a logical id, got {tag.value!r}")
        self.known(tag.value, at, "!Ref", local)

    def known(self, name: str, at: At, how: str, local: frozenset = frozenset()) -> bool:
        if name in self.ids or name in PSEUDO or name in local:
            return True
        at.error(f"{how} names '{name}', which this stage does not define; it defines "
                 f"{', '.join(self.ids) or 'nothing'}"
                 + did_you_mean(name, list(self.ids) + sorted(PSEUDO)))
        return False

    def tag_GetAtt(self, tag: Tag, at: At, local: frozenset) -> None:
        value = tag.value
        if isinstance(value, str) and "." in value:
            target, attr = value.split(".", 1)
        elif isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            target, attr = value
        else:
            return at.error(f"!GetAtt takes <LogicalId>.<Attribute>, got {value!r}")
        if not self.known(target, at, "!GetAtt"):
            return
        allowed = self.ids.get(target)
        if allowed is not None and isinstance(attr, str) and attr not in allowed:
            choices = ", ".join(sorted(allowed)) or "none"
            at.error(f"!GetAtt {target}.{attr}: '{target}' has no attribute '{attr}'; "
                     f"it has {choices}" + did_you_mean(attr, allowed))

    def tag_Sub(self, tag: Tag, at: At, local: frozenset) -> None:
        value, names = tag.value, frozenset()
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], Map):
            names = frozenset(value[1])
            self.walk(value[1], at, local)
            value = value[0]
        if not isinstance(value, str):
            return at.error("!Sub takes a string, or [string, {name: value}]")
        for var in SUB_VAR.findall(value):
            if var in names or var in PSEUDO:
                continue
            if "." in var:
                self.tag_GetAtt(Tag("GetAtt", var, tag.mark), at, local)
            else:
                self.known(var, at, "!Sub ${…}")

    def tag_Condition(self, tag: Tag, at: At, local: frozenset) -> None:
        self.condition(tag.value, at)

    def tag_If(self, tag: Tag, at: At, local: frozenset) -> None:
        if not isinstance(tag.value, list) or len(tag.value) != 3:
            return at.error("!If takes [condition, value if true, value if false]")
        self.condition(tag.value[0], at)
        self.walk(tag.value[1:], at, local)

    def condition(self, name: Any, at: At) -> None:
        if name not in self.stage.conditions:
            at.error(f"unknown condition {name!r}; this stage's conditions: "
                     f"{', '.join(self.stage.conditions) or 'none'}"
                     + did_you_mean(name, self.stage.conditions))

    def tag_Output(self, tag: Tag, at: At, local: frozenset) -> None:
        parsed = parse_output(tag)
        if parsed is None:
            return at.error(f"!Output takes <stage>.<OutputName>, got {tag.value!r}")
        stage_name, output = parsed
        others = [n for n in self.stages if n != self.stage.name]
        if stage_name == self.stage.name and self.in_step:
            outputs = self.stage.outputs
            if output not in outputs:
                at.error(f"!Output {tag.value}: this stage has no output '{output}'; it "
                         f"has {', '.join(outputs) or 'none'}" + did_you_mean(output, outputs))
            return None
        if stage_name == self.stage.name:
            return at.error(f"!Output {tag.value} names this stage itself; use !Ref or "
                            "!GetAtt inside a stage")
        if stage_name in self.broken:
            return None
        if stage_name not in self.stages:
            return at.error(f"!Output {tag.value}: no stage '{stage_name}' in app "
                            f"'{self.stage.app}'; stages: {', '.join(others) or 'none'}"
                            + did_you_mean(stage_name, others))
        outputs = self.stages[stage_name].outputs
        if output not in outputs:
            return at.error(f"!Output {tag.value}: stage '{stage_name}' has no output "
                            f"'{output}'; it has {', '.join(outputs) or 'none'}"
                            + did_you_mean(output, outputs))
        self.edges.setdefault(stage_name, tag.mark)


def check_references(stages: dict, problems: Problems,
                     broken: set[str] = frozenset()) -> dict[str, dict[str, Mark]]:
    """Check every intrinsic of every stage; return each stage's dependencies.

    `broken` names stages that failed to load: references to them are not reported.
    """
    edges = {}
    for name, stage in stages.items():
        checker = _Checker(stage, stages, problems, broken)
        for logical_id, resource in stage.resources.items():
            at = At(problems, resource.mark, f"resources.{logical_id}")
            checker.walk(resource.node, at)
            for index, dep in enumerate(resource.depends_on):
                if dep not in stage.resources:
                    marks = resource.node["depends_on"].item_marks
                    checker.known(dep, at.key("depends_on", None).item(index, marks[index]),
                                  "depends_on")
        for out_name, output in stage.outputs.items():
            checker.walk(output.value, At(problems, output.mark, f"outputs.{out_name}"))
        for cond_name, value in stage.conditions.items():
            checker.walk(value, At(problems, stage.mark, f"conditions.{cond_name}"))
        checker.in_step = True
        _check_steps(checker, stage, problems)
        edges[name] = checker.edges
    return edges


def _check_steps(checker: _Checker, stage, problems: Problems) -> None:
    """After-deploy steps run outside CloudFormation: only !Output means anything there."""
    node = stage.node.get("after_deploy") if isinstance(stage.node, Map) else None
    for index, step in enumerate(node or []):
        at = At(problems, node.item_marks[index], f"after_deploy[{index}]")
        for tag in tags_in(step):
            if tag.name != "Output":
                At(problems, tag.mark, at.path).error(
                    f"!{tag.name} cannot be used in after_deploy (steps run after "
                    "CloudFormation); use !Output <stage>.<Name>, this stage's own "
                    "outputs included")
        checker.walk(step, at)


def tags_in(value: Any):
    """Every `!Tag` value inside a value, depth first."""
    if isinstance(value, Tag):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from tags_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from tags_in(item)


def stage_order(stages: dict, edges: dict, problems: Problems) -> tuple[str, ...]:
    """Dependencies first; among ready stages, the lower file number first."""
    waiting = {name: set(deps) for name, deps in edges.items()}
    ready = [(stages[n].number, n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, (stages[other].number, other))
    if len(order) < len(stages):
        cycle = _find_cycle({n: sorted(d) for n, d in waiting.items() if d})
        pairs = zip(cycle, cycle[1:], strict=False)
        uses = ", ".join(f"{a} uses {b} at {edges[a][b]}" for a, b in pairs)
        problems.add(edges[cycle[0]][cycle[1]], "",
                     f"dependency cycle between stages: {' → '.join(cycle)} ({uses}); "
                     "a stage cannot use !Output of a stage that depends on it")
    return tuple(order)


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    for start in sorted(graph):
        path, seen = [start], {start}
        node = start
        while graph.get(node):
            node = graph[node][0]
            if node in seen:
                return path[path.index(node):] + [node]
            path.append(node)
            seen.add(node)
    return []
