"""The command line: `python -m generator <verb>`.

Every error a user can cause is a GeneratorError: printed without a traceback (unless
--debug), exit status 1. Summaries go to stdout, problems to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from contextlib import contextmanager

from .errors import BlueprintError, GeneratorError, UsageError

PROGRESS_FROM = 40    # apps: a smaller synth is done before a bar would be seen
DESCRIPTION = """\
Turn blueprint YAML (blueprints/<app>/app.yaml and NN-<stage>.yaml) into linted,
deterministic CloudFormation templates under build/<env>/<app>/."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator", description=DESCRIPTION)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--root", default=".", help="project folder (default: .)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    synth = verbs.add_parser(
        "synth", help="blueprints → templates + manifest in build/",
        description="Load every blueprint, build its templates, lint them with cfn-lint "
                    "and write build/<env>/<app>/NN-<stage>.yaml plus manifest.json. "
                    "Nothing is written unless everything is valid; errors name "
                    "file:line:column.")
    synth.add_argument("--env", action="append", metavar="E",
                       help="only this environment (repeatable; default: all)")
    synth.add_argument("--app", action="append", metavar="A",
                       help="only this app (repeatable; default: all)")
    synth.add_argument("--quiet", "-q", action="store_true",
                       help="print only problems and the total line")
    synth.add_argument("--no-lint", action="store_true",
                       help="skip cfn-lint (faster; CI never does)")
    synth.set_defaults(run=_synth)

    kinds = verbs.add_parser("kinds", help="list the resource kinds a blueprint may use",
                             description="List resource kinds and their fields.")
    kinds.add_argument("--markdown", action="store_true", help="as a Markdown table")
    kinds.add_argument("--waivers", action="store_true",
                       help="the referee (checkov) checks kinds waive, and why (Markdown)")
    kinds.add_argument("kind", nargs="?", help="show the fields of one kind")
    kinds.set_defaults(run=_kinds)

    _project_verbs(verbs)
    from .deploy.commands import add_verbs

    add_verbs(verbs)
    parser.verbs = verbs.choices
    return parser


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments; one a verb does not know is reported with that verb's usage (with
    the top-level usage, a user looking for `synth`'s options would not see them)."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        given = sys.argv[1:] if argv is None else argv
        before_verb = given.index(unknown[0]) < given.index(args.verb) \
            if unknown[0] in given and args.verb in given else False
        hint = ""
        if not before_verb and unknown[0].split("=")[0] in ("--debug", "--root"):
            hint = f"; {unknown[0].split('=')[0]} goes before the verb: python -m " \
                   f"generator {unknown[0].split('=')[0]} … {args.verb} …"
        (parser if before_verb else parser.verbs[args.verb]).error(
            f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args


def _project_verbs(verbs) -> None:
    """init and graph: a new project, and a drawing of one."""
    init = verbs.add_parser(
        "init", help="create a new project (blueprints, Lambda code, Makefile, CI)",
        description="Scaffold a project that synthesizes, tests and deploys to the local "
                    "cloud as created: an app with dev and local environments, one stage "
                    "with a table and a function, its code and tests, a Makefile, "
                    ".gitignore and a CI script. Never overwrites a file.")
    init.add_argument("dir", nargs="?", default=".", help="the folder (default: .)")
    init.add_argument("--name", help="the app name (default: from the folder's name)")
    init.add_argument("--force", action="store_true",
                      help="add the missing files to a folder that is not empty")
    init.set_defaults(run=_init)

    graph = verbs.add_parser(
        "graph", help="draw the stacks, their resources and dependencies",
        description="Print a diagram of every stack of an environment from build/ "
                    "(no cloud): Mermaid (GitHub renders it) or Graphviz DOT.")
    graph.add_argument("--env", default="dev", metavar="E", help="environment (default dev)")
    graph.add_argument("--app", action="append", metavar="A", help="only this app")
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    graph.add_argument("--stacks-only", action="store_true", help="leave out the resources")
    graph.set_defaults(run=_graph)


@contextmanager
def synth_progress(stream=None, many: int = PROGRESS_FROM):
    """A progress bar on a terminal once a synth has `many` apps; else nothing."""
    stream = stream or sys.stderr
    bar = None

    def update(built: int, total: int) -> None:
        nonlocal bar
        if bar is None and total >= many and stream.isatty():
            from rich.console import Console
            from rich.progress import Progress

            # no refresh thread: the lint workers may be forked meanwhile
            bar = Progress(console=Console(file=stream), transient=True, auto_refresh=False)
            bar.start()
            bar.add_task("synth", total=total)
        if bar is not None:
            bar.update(bar.task_ids[0], completed=built)
            bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _size(count: int) -> str:
    return f"{count / 1024:.1f} KB"


def _synth(args: argparse.Namespace) -> int:
    from .lint import CACHE_PATH, Linter

    linter = None
    try:
        if not args.no_lint:     # its workers start before the imports below (~0.1 s)
            linter = Linter.cold_start(os.path.join(args.root, CACHE_PATH))
        from .api import synthesize
        from .plugins import origins

        with synth_progress() as progress:
            result = synthesize(args.root, args.env, args.app, lint=linter or False,
                                write=True, progress=progress)
    finally:
        if linter is not None:
            linter.close()
    if origins:
        print("plugin kinds: " + ", ".join(f"{k} ({o})" for k, o in origins.items()))
    warnings: dict[str, list] = {}
    for finding in result.findings:
        warnings.setdefault(finding.template, []).append(finding)
    for stack in result.stacks:
        found = warnings.get(stack.path, [])
        lint = "lint skipped" if args.no_lint else (
            f"lint: {len(found)} warning(s)" if found else "lint ok")
        if not args.quiet:
            plural = "s" if stack.resources != 1 else ""
            print(f"{stack.path:<44} {stack.resources:>3} resource{plural:<1} "
                  f"{_size(len(stack.text)):>9}  {lint}")
        for finding in found:
            print(f"  warning {finding}", file=sys.stderr)
    for path in result.removed:
        print(f"removed {path}")
    cached = "" if args.no_lint else f", lint cache {result.cache_hits}/{len(result.stacks)}"
    print(f"synth: {len(result.stacks)} template(s), {len(result.written)} file(s) "
          f"written{cached}, {result.seconds:.2f} s")
    return 0


def _init(args: argparse.Namespace) -> int:
    from .scaffold import init_verb

    return init_verb(args)


def _graph(args: argparse.Namespace) -> int:
    from .graph import graph

    print(graph(args.root, args.env, args.app, args.format, not args.stacks_only), end="")
    return 0


def _kinds(args: argparse.Namespace) -> int:
    from .docs import kind_fields, kinds_table, waivers_table
    from .plugins import activate

    origins = activate(args.root)
    if args.waivers:
        print(waivers_table())
    elif args.kind:
        print(kind_fields(args.kind))
        if args.kind in origins:
            print(f"\n  a plugin kind, from {origins[args.kind]}")
    else:
        print(kinds_table(markdown=args.markdown))
        if origins and not args.markdown:
            print("\nplugin kinds: " + ", ".join(f"{k} ({o})" for k, o in origins.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        return args.run(args)
    except BlueprintError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found; nothing was written",
              file=sys.stderr)
        return 1
    except GeneratorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except Exception:
        if args.debug or os.environ.get("GENERATOR_DEBUG"):
            raise
        print("internal error (a bug in the generator, not in your blueprints); "
              "run again with --debug and report the traceback", file=sys.stderr)
        return 1


def _reader_gone() -> int:
    """The reader of our output left (`status | head -1`): it had what it wanted, so end
    quietly with 0. Output still buffered goes to /dev/null, or Python's own flush at exit
    would meet the closed pipe again and complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
