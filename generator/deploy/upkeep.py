"""Verbs that look after what is deployed: clean (and purge), unlock, and the local cloud;
plus the listing of stacks whose stage was removed."""

from __future__ import annotations

import os
import sys


def removed_stages(cloud, stacks, env: str) -> list:
    """Deployed stacks of these apps (by their tags) whose stage is no longer in build/,
    as (region, state) pairs."""
    known = {s.name for s in stacks}
    return [(region, state)
            for region in sorted({s.region for s in stacks})
            for app in sorted({s.app for s in stacks})
            for state in cloud.tagged_stacks(region, {"blueprint:app": app,
                                                      "blueprint:env": env})
            if state.name not in known]


def orphans(cloud, stacks, env: str) -> None:
    """Print the stacks whose stage was removed (for `status`)."""
    for region, state in removed_stages(cloud, stacks, env):
        print(f"  {state.name:<34} {state.status:<26} not in build/ (its stage was "
              f"removed?); delete it with deploy --prune, or: aws cloudformation "
              f"delete-stack --stack-name {state.name} --region {region}")


def lock_status(cloud, stacks) -> None:
    """Who holds the environment's deploy lock, if anyone (for `status`)."""
    from .lock import DeployLock, account_of, lock_key

    region = stacks[0].home_region
    lock = DeployLock(cloud, region, lock_key(stacks[0].env, account_of(cloud, region),
                                              region))
    holder = lock.holder()
    if holder is not None:
        gone = "; its process is gone: break it with unlock" if holder.gone else ""
        print(f"  deploy lock of {lock.key} held by {holder.text}{gone}")


def prune(args, cloud, stacks) -> int:
    """After a deploy: name the stacks whose stage was removed; with --prune (and
    consent) delete them as clean does, keeping and listing their data."""
    from .clean import clean
    from .commands import command_line
    from .ledger import record
    from .lock import held_lock
    from .runner import Console

    gone = removed_stages(cloud, stacks, args.env)
    names = ", ".join(state.name for _, state in gone)
    if not gone:
        return 0
    if not args.prune:
        print(f"stage removed from the blueprints, stack still deployed: {names}; deploy "
              "with --prune to delete it (its data is kept)")
        return 0
    if not _confirmed(args, f"delete {len(gone)} stack(s) whose stage was removed: "
                            f"{names}? [y/N] "):
        return 3
    with held_lock(cloud, stacks, command_line(args), args.lock_timeout, print):
        kept = clean(cloud, [_deployed_spec(cloud, region, state) for region, state in gone],
                     Console().say)
        record(cloud, stacks[0].home_region, kept)
    _left_behind(kept, cloud)
    return 0


def _deployed_spec(cloud, region: str, state):
    """A removed stage's stack as clean needs it, from what is deployed."""
    import json

    from .manifest import StackSpec

    body = cloud.template_body(state.name, region)
    text = json.dumps(body) if isinstance(body, dict) else body
    tags = state.tags
    return StackSpec(tags.get("blueprint:app", ""), tags.get("blueprint:env", ""),
                     tags.get("blueprint:stage", ""), state.name, region, text.encode(), (),
                     {}, (), (), tags, ())


def _left_behind(kept: list, cloud=None) -> None:
    endpoint = cloud.target.endpoint if cloud is not None and cloud.target.local else None
    if kept:
        print("left behind (data is kept; the next deploy adopts what a stack declares):")
    for item in kept:
        print(f"  {item.stack} {item.logical_id} {item.physical_id}\n    delete: "
              f"{item.command(endpoint)}")


def clean_verb(args) -> int:
    from .clean import clean, written_by_steps
    from .commands import command_line, make_cloud
    from .ledger import record, recorded
    from .live import make_console
    from .lock import held_lock
    from .manifest import load_stacks

    cloud = make_cloud(args)
    stacks = load_stacks(args.root, args.env, args.app)
    states = {s.name: cloud.stack(s.name, s.region) for s in stacks}
    present = [s for s in stacks if states[s.name] is not None]
    region = stacks[0].home_region
    if present:
        if not _confirmed(args, f"delete {len(present)} stack(s): "
                                f"{', '.join(s.name for s in reversed(present))}? [y/N] "):
            return 3
        with held_lock(cloud, stacks, command_line(args), args.lock_timeout, print), \
                make_console() as console:
            kept = clean(cloud, present, console.say)
            record(cloud, region, kept)
        kept += written_by_steps(present, {k: v.outputs for k, v in states.items() if v})
    else:
        print(f"no stack of {args.env} is deployed")
        kept = [k for s in stacks for k in recorded(cloud, region, s.name)]
    if not kept:
        return 0
    _left_behind(kept, cloud)
    return _purge(args, cloud, region, kept) if args.purge else 0


def _purge(args, cloud, region: str, kept: list) -> int:
    """Delete what clean left behind, after `purge <env>` is typed (or --yes)."""
    from .clean import purge
    from .ledger import forget
    from .runner import Console

    confirm = f"purge {args.env}"
    if not args.yes:
        if not sys.stdin.isatty():
            print("--purge needs a confirmation: run it in a terminal, or add --yes; "
                  "nothing purged", file=sys.stderr)
            return 3
        if input(f"type '{confirm}' to delete the data listed above: ").strip() != confirm:
            print("not confirmed; nothing purged")
            return 3
    purge(cloud, kept, Console().say)
    for stack in sorted({k.stack for k in kept}):
        forget(cloud, region, stack)
    return 0


def unlock_verb(args) -> int:
    from .commands import make_cloud
    from .lock import DeployLock, account_of, lock_key
    from .manifest import load_stacks

    cloud = make_cloud(args)
    region = load_stacks(args.root, args.env, args.app)[0].home_region
    lock = DeployLock(cloud, region, lock_key(args.env, account_of(cloud, region), region))
    holder = lock.holder()
    if holder is None:
        print(f"no deploy lock is held for {lock.key}")
        return 0
    gone = " (its process is gone from this machine)" if holder.gone else ""
    print(f"the deploy lock of {lock.key} is held by {holder.text}{gone}")
    if not args.yes and not (sys.stdin.isatty() and input(
            "break it? [y/N] ").strip().lower() in ("y", "yes")):
        print("not confirmed (in a terminal, or --yes); the lock stays", file=sys.stderr)
        return 3
    lock.break_lock()
    print(f"deploy lock of {lock.key} broken")
    return 0


def _confirmed(args, question: str) -> bool:
    """--yes, or a yes typed at a terminal; without a terminal, refuse."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"{args.verb} deletes stacks: confirm in a terminal, or add --yes; nothing "
              "deleted", file=sys.stderr)
        return False
    if input(question).strip().lower() in ("y", "yes"):
        return True
    print("not confirmed; nothing deleted")
    return False


def _persisted(folder: str, fresh: bool) -> dict[str, str]:
    """MiniStack's own persistence settings: state is saved under .cache/localcloud/ when
    it stops (by `local down`) and loaded when it starts, so the local cloud keeps its
    data like an account does; --fresh starts empty on purpose."""
    import shutil

    data = {"STATE_DIR": os.path.join(folder, "state"), "S3_DATA_DIR": os.path.join(folder, "s3")}
    if fresh:
        for path in data.values():
            shutil.rmtree(path, ignore_errors=True)
    return {"PERSIST_STATE": "1", "S3_PERSIST": "1",
            **{k: os.path.abspath(v) for k, v in data.items()}}


def _ours_running(pid_file: str, localcloud) -> tuple[int, int] | None:
    """(pid, port) of the local cloud this project started, if it still answers."""
    try:
        with open(pid_file) as handle:
            pid, port = (int(x) for x in handle.read().split())
    except (OSError, ValueError):
        return None
    return (pid, port) if localcloud.healthy(port) and _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reused(args, pid_file: str, localcloud) -> bool:
    """The local cloud this project started answers on the asked port: reuse it. On
    another port it is an error (one local cloud per project; its PID file is one)."""
    from .cloud import DeployError

    running = _ours_running(pid_file, localcloud)
    if running and running[1] == args.port and not args.fresh:
        print(f"local cloud already up at {localcloud.endpoint(args.port)} (pid "
              f"{running[0]}); reusing it")
        return True
    if running:
        raise DeployError(f"the local cloud started here runs on port {running[1]} (pid "
                          f"{running[0]}); stop it first (make local-down), or use "
                          f"LOCAL_PORT={running[1]}")
    return False


def local_verb(args) -> int:
    from . import localcloud

    state = os.path.join(args.root, localcloud.STATE_DIR)
    pid_file = os.path.join(state, "pid")
    if args.action == "up":
        if _reused(args, pid_file, localcloud):
            return 0
        kept = _persisted(state, args.fresh)
        pid = localcloud.start(args.port, os.path.join(state, "ministack.log"),
                               extra_env=kept)
        os.makedirs(state, exist_ok=True)
        with open(pid_file, "w") as handle:
            handle.write(f"{pid} {args.port}\n")
        print(f"local cloud up at {localcloud.endpoint(args.port)} (pid {pid}); stop it with "
              "make local-down")
        return 0
    if not os.path.exists(pid_file):
        print("no local cloud started here")
        return 0 if args.action == "status" else 0
    with open(pid_file) as handle:
        pid, port = (int(x) for x in handle.read().split())
    if args.action == "status":
        print(f"pid {pid} on port {port}: {'up' if localcloud.healthy(port) else 'not answering'}")
        return 0
    localcloud.stop(pid)
    os.remove(pid_file)
    print(f"local cloud stopped (pid {pid})")
    return 0
