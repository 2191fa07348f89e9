"""CLI verbs of the deployer: deploy, plan, outputs, status (clean, unlock and local
are in upkeep.py).

Only the argument parsers are built at start; each verb imports the deployer (and
boto3) when it runs, so `synth` never pays for them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading

from . import upkeep

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
EXIT_CODES = """\
exit codes:
  0    everything asked for is done, or was already current
  1    something failed (the message says what, and what to do)
  2    usage error (an unknown option, app or stage)
  3    something was not executed for lack of consent: no terminal and no --yes, a
       refused prompt, or a gate (--allow-replace); nothing of it changed
  130  interrupted (Ctrl-C or SIGTERM): each stack's state and the command that resumes
       are printed"""
PLAN_EXIT_CODES = EXIT_CODES + """
  4    with --detailed-exitcode: the plan has changes (0: none)"""


RAW = argparse.RawDescriptionHelpFormatter


def add_verbs(verbs) -> None:
    _deploy_verbs(verbs)
    _reading_verbs(verbs)
    _upkeep_verbs(verbs)


def _deploy_verbs(verbs) -> None:
    deploy = verbs.add_parser("deploy", help="deploy stacks in dependency order",
                              description="Deploy every stack of build/<env>/ in dependency "
                              "order with change sets. Unchanged stacks are skipped without "
                              "a write call; each change set is shown before it runs.",
                              epilog=EXIT_CODES, formatter_class=RAW)
    _target_args(deploy)
    deploy.add_argument("--stage", action="append", metavar="S", help="only this stage")
    deploy.add_argument("--yes", action="store_true",
                        help="execute without asking (needed when there is no terminal)")
    deploy.add_argument("--allow-replace", action="append", default=[], metavar="LOGICAL_ID",
                        help="allow replacing or removing this data-holding resource")
    deploy.add_argument("--parallel", type=int, default=4, metavar="N",
                        help="independent stacks deployed at once (default 4)")
    _lock_args(deploy)
    deploy.add_argument("--prune", action="store_true",
                        help="also delete deployed stacks whose stage was removed from the "
                             "blueprints (asks first; their data is kept and listed)")
    deploy.set_defaults(run=_named_faults(_deploy))

    plan = verbs.add_parser("plan", help="show what a deploy would change, change nothing",
                            description="Create a change set for every stack that differs, "
                            "show them all, and delete them again.",
                            epilog=PLAN_EXIT_CODES, formatter_class=RAW)
    _target_args(plan)
    plan.add_argument("--markdown", metavar="FILE", help="also write the plan as Markdown "
                                                         "(for a pull request)")
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 0 when nothing would change, 4 when something would")
    plan.set_defaults(run=_named_faults(_plan))


def _reading_verbs(verbs) -> None:
    outputs = verbs.add_parser("outputs", help="stack outputs",
                               description="Print each deployed stack's outputs. With "
                               "--local, URLs are those this machine can call.")
    _target_args(outputs)
    outputs.add_argument("--json", action="store_true", help="as JSON")
    outputs.set_defaults(run=_named_faults(_outputs))

    status = verbs.add_parser("status", help="each stack's state, and whether it is current")
    _target_args(status)
    status.set_defaults(run=_named_faults(_status))


def _upkeep_verbs(verbs) -> None:
    clean = verbs.add_parser("clean", help="delete stacks in reverse order, keep data",
                             description="Delete the stacks in reverse dependency order. "
                             "Buckets they own are emptied first; tables, keys and other "
                             "retained resources stay and are listed with how to delete "
                             "them, unless --purge.", epilog=EXIT_CODES,
                             formatter_class=RAW)
    _target_args(clean)
    clean.add_argument("--purge", action="store_true",
                       help="also delete retained data (asks first; --yes to skip asking)")
    clean.add_argument("--yes", action="store_true",
                       help="do not ask (needed when there is no terminal)")
    _lock_args(clean)
    clean.set_defaults(run=_named_faults(upkeep.clean_verb))

    unlock = verbs.add_parser(
        "unlock", help="break the deploy lock of an environment (its holder died)",
        description="Show who holds the deploy lock of the environment and, after you "
        "confirm (or with --yes), delete it. Only for a lock whose holder is gone: "
        "breaking a live run's lock lets two runs in at once.", epilog=EXIT_CODES,
        formatter_class=RAW)
    _target_args(unlock)
    unlock.add_argument("--yes", action="store_true", help="do not ask")
    unlock.set_defaults(run=_named_faults(upkeep.unlock_verb))

    local = verbs.add_parser("local", help="start or stop the local cloud (MiniStack)",
                             description="Start the local cloud on 127.0.0.1 and wait until "
                             "it answers, or stop the one started here (by its PID).")
    local.add_argument("action", choices=("up", "down", "status"))
    local.add_argument("--port", type=int, default=4566)
    local.add_argument("--fresh", action="store_true",
                       help="with up: forget the data kept from earlier runs (make local-reset)")
    local.set_defaults(run=upkeep.local_verb)


def _lock_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for the environment's deploy lock when "
                             "another run holds it (default 0: refuse at once)")


def _target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", metavar="E",
                        help="environment (default: dev; on the local cloud, the one last "
                             "deployed there, else local when an app has it)")
    parser.add_argument("--app", action="append", metavar="A", help="only this app")
    parser.add_argument("--local", action="store_true",
                        help=f"the local cloud at {LOCAL_ENDPOINT} (test credentials only)")
    parser.add_argument("--endpoint", metavar="URL",
                        help="the local cloud at this loopback URL (implies --local)")


def make_cloud(args, probe: bool = True):
    """The cloud the verb works on; a local one is probed first (`probe`), so a dead
    endpoint is named in seconds."""
    from .cloud import Cloud, Target
    from .manifest import refuse_local_only

    if args.local or args.endpoint:
        target = Target.local_cloud(args.endpoint or LOCAL_ENDPOINT)
        if probe:
            target.check_answers()
        return Cloud(target)
    refuse_local_only(args.root, args.env)
    return Cloud(Target())


def _local_endpoint(args) -> str | None:
    return args.endpoint or (LOCAL_ENDPOINT if args.local else None)


def _env_file(root: str, endpoint: str) -> str:
    from .localcloud import STATE_DIR

    port = endpoint.rsplit(":", 1)[-1]
    return os.path.join(root, STATE_DIR, f"env-{port}")


def default_env(args) -> str:
    """dev on AWS. On the local cloud: the environment last deployed to it from here,
    else `local` when stacks of an app's `local` environment are there, else dev."""
    endpoint = _local_endpoint(args)
    if endpoint is None:
        return "dev"
    try:
        with open(_env_file(args.root, endpoint), encoding="utf-8") as handle:
            return handle.read().strip() or "dev"
    except OSError:
        return "local" if _holds_env(args.root, endpoint, "local") else "dev"


def _holds_env(root: str, endpoint: str, env: str) -> bool:
    """Whether the local cloud at `endpoint` holds a stack of `env` (False when that
    cannot be told: the verb itself then names what is wrong)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..errors import GeneratorError
    from .cloud import Cloud, Target
    from .manifest import load_stacks

    if not os.path.isdir(os.path.join(root, "build", env)):
        return False
    try:
        target = Target.local_cloud(endpoint)
        target.check_answers()
        cloud = Cloud(target)
        return any(cloud.stack(s.name, s.region) for s in load_stacks(root, env, None))
    except (GeneratorError, BotoCoreError, ClientError):
        return False


def remember_env(args) -> None:
    """After a deploy to the local cloud: its environment, for the next local verbs."""
    endpoint = _local_endpoint(args)
    if endpoint:
        path = _env_file(args.root, endpoint)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(args.env + "\n")


def _named_faults(verb):
    """Network and permission failures become one clear error (where, what to do),
    never a traceback or "internal error"."""
    def run(args) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        from .cloud import DeployError, Target

        args.env = args.env or default_env(args)
        try:
            return verb(args)
        except (BotoCoreError, ClientError) as exc:
            target = Target(args.endpoint or LOCAL_ENDPOINT) if args.local or \
                args.endpoint else Target()
            message = target.explain(exc)
            if message is None:
                raise
            raise DeployError(message) from None
    return run


def _run(args, options):
    """The API's plan/deploy run for these arguments: (outcome, deployer, stacks)."""
    from ..api import Target, run

    endpoint = _local_endpoint(args)
    target = Target(args.env, tuple(args.app or ()) or None,
                    tuple(getattr(args, "stage", None) or ()) or None, endpoint)
    from .live import make_console

    return run(args.root, target, options, console=make_console())


def _finish(outcome, args) -> int:
    """The summary, and the exit code that says what happened (see EXIT_CODES)."""
    if outcome.interrupted:
        print("interrupted: no change set is executed from here on. Where each stack was "
              "left:", file=sys.stderr)
        for stack in outcome.order:
            print(f"  {stack:<34} {outcome.state_of(stack)}", file=sys.stderr)
        print(f"resume with: {command_line(args)}", file=sys.stderr)
        return outcome.exit_code
    for stack, result in outcome.results.items():
        print(f"  {stack:<34} {result}")
    if outcome.failures:
        print(f"{len(outcome.failures)} stack(s) failed:", file=sys.stderr)
        for stack, message in outcome.failures.items():
            print(f"  {stack}: {message}", file=sys.stderr)
    if outcome.exit_code == 3:
        print("not everything was executed (no consent): nothing of those stacks changed; "
              "exit code 3", file=sys.stderr)
    return outcome.exit_code


def command_line(args) -> str:
    """The command that runs this again (to resume after an interrupt)."""
    words = ["python", "-m", "generator", args.verb, "--env", args.env]
    for flag in ("app", "stage"):
        for value in getattr(args, flag, None) or []:
            words += [f"--{flag}", value]
    if args.endpoint:
        words += ["--endpoint", args.endpoint]
    elif args.local:
        words.append("--local")
    words += ["--yes"] if getattr(args, "yes", False) else []
    return shlex.join(words)


@contextlib.contextmanager
def _interruptible():
    """SIGTERM (a CI runner cancelling the job) stops the run like Ctrl-C does; the
    handler before it is put back afterwards (the library may run in a longer process)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _deploy(args) -> int:
    from .cloud import is_write
    from .runner import Options

    options = Options(yes=args.yes, interactive=sys.stdin.isatty() and not args.yes,
                      allow_replace=frozenset(args.allow_replace), parallel=args.parallel,
                      lock=True, lock_timeout=args.lock_timeout, command=command_line(args))
    with _interruptible():
        outcome, deployer, stacks = _run(args, options)
    state = len([c for c in deployer.cloud.state_calls if is_write(c)])
    print(f"deploy ({args.env}): {len(deployer.cloud.writes)} write call(s)"
          + (f", {state} to the deploy lock and state table" if state else ""))
    if outcome.results:
        remember_env(args)
    code = _finish(outcome, args)
    return upkeep.prune(args, deployer.cloud, stacks) if code == 0 else code


def _plan(args) -> int:
    from .preview import plan_document
    from .runner import Options

    with _interruptible():
        outcome, _, stacks = _run(args, Options(plan_only=True, lock=True))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write(plan_document(args.env, stacks, outcome))
        print(f"plan written to {args.markdown}")
    code = _finish(outcome, args)
    if code == 0 and args.detailed_exitcode and any(
            r.startswith(("planned", "waits")) for r in outcome.results.values()):
        return 4
    return code


def _outputs(args) -> int:
    from ..api import deployed_outputs

    found = deployed_outputs(args.root, make_cloud(args), args.env, args.app)
    if not found:
        print(f"no stack of {args.env} is deployed", file=sys.stderr)
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True))
    else:
        for stack, outputs in found.items():
            print(stack)
            for key, value in outputs.items():
                print(f"  {key:<22} {value}")
    return 0


def _status(args) -> int:
    from .cloud import DeployError
    from .manifest import load_stacks, stale_apps
    from .runner import Console, Deployer, Options

    cloud = make_cloud(args)
    deployer = Deployer(args.root, cloud, Console(), Options(plan_only=True))
    stacks = load_stacks(args.root, args.env, args.app)
    for app in stale_apps(args.root, stacks):
        print(f"  {app}: stale build (its inputs changed since the last synth; run make "
              "synth)")
    for spec in stacks:
        state = cloud.stack(spec.name, spec.region)
        if state is None:
            print(f"  {spec.name:<34} not deployed")
            continue
        try:
            wanted = deployer.wanted_hash(spec)
        except DeployError:
            wanted = None
        deployer.remember(spec.name, state)
        print(f"  {spec.name:<34} {state.status:<26} {_verdict(spec, state, wanted)}")
        leftover = cloud.stale_change_sets(spec.name, spec.region, "bp-")
        if leftover:
            print(f"  {'':<34} leftover change set(s) (the next deploy deletes them): "
                  f"{', '.join(leftover)}")
    upkeep.orphans(cloud, stacks, args.env)
    upkeep.lock_status(cloud, stacks)
    return 0


def _verdict(spec, state, wanted: str | None) -> str:
    """What a stack's state means, from the same decision a deploy makes."""
    from .plan import RECREATE, decide

    if wanted is None:
        return "cannot tell (a dependency is missing)"
    decision = decide(spec.name, spec.region, state, wanted)
    if decision.action == "recreate":
        return (f"not deployed: {RECREATE[state.status] or 'it failed'}; the next deploy "
                "creates it again")
    return {"skip": "current", "update": "differs from build/"}.get(decision.action,
                                                                    decision.reason)
