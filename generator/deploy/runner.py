"""Deploy stacks in dependency order: each as soon as its own dependencies are done.

The scheduler starts a stack's flow (`flow.py`: skip what is current, change set, gates,
execute, after-deploy steps) once its dependencies are done, several at once; a failure
stops its dependants and lets running stacks finish. With `Options.lock` (the CLI) the
bootstrap stack of the environment's region goes first and the run takes the
environment's deploy lock (`lock.py`) before any other stack. Ctrl-C ends the run within
2 s, executing nothing more (`_interrupted`). The Deployer also resolves each stack's
inputs: other stacks' outputs, the asset bucket, hosted zone ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from .bootstrap import STACK as ASSET_STACK
from .bootstrap import bootstrap_stack
from .cloud import NO_CREDENTIALS, Cloud, DeployError
from .console import Console
from .flow import NOT_EXECUTED, MissingDependency, NotConsented, StackFlow, needs_assets
from .lock import DeployLock, Holder, lock_key, new_run_id
from .manifest import StackSpec
from .models import StackState
from .plan import stack_hash
from .preview import KNOWN_AFTER

__all__ = ["Console", "Deployer", "MissingDependency", "Options", "Outcome"]
# After Ctrl-C the process must be gone within 2 s even when the endpoint stalls:
# STOP_LIMIT for an execute call in flight, GRACE for running stacks to stop waiting,
# RELEASE_LIMIT to give the lock back (`unlock` breaks one left behind).
STOP_LIMIT, GRACE, RELEASE_LIMIT = 0.3, 0.6, 0.5


@dataclass(frozen=True)
class Options:
    yes: bool = False
    interactive: bool = False
    allow_replace: frozenset[str] = frozenset()
    parallel: int = 4
    plan_only: bool = False
    lock: bool = False           # take the environment's deploy lock (a plan only reads it)
    lock_timeout: float = 0.0
    command: str = "deploy"


@dataclass
class Outcome:
    """What happened to each stack in a run."""

    results: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    failures: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """130 interrupted, 1 something failed, 3 something was not executed for lack of
        consent, 0 everything asked for is deployed or was current."""
        if self.interrupted:
            return 130
        if self.failures:
            return 1
        return 3 if NOT_EXECUTED in self.results.values() else 0

    def state_of(self, key: str) -> str:
        """Where a stack is: the step it was at when the run stopped, else its result."""
        return self.phases.get(key) or self.results.get(key) or "not started"

    @property
    def markdown(self) -> list[str]:
        """The plan as Markdown, in deploy order whatever order stacks finished in."""
        return [line for key in self.order for line in self.sections.get(key, [])]


class Deployer:
    def __init__(self, root: str, cloud: Cloud, console: Console, options: Options,
                 steps: Callable | None = None) -> None:
        self.root, self.cloud, self.console, self.options = root, cloud, console, options
        self.steps = steps
        self.outcome = Outcome()
        self._states: dict[str, StackState] = {}
        self._regions: dict[str, str] = {}
        self._running: dict[Future, str] = {}
        self.run_id = new_run_id()
        self.protected_runs: set[str] = set()   # change sets of these runs are left alone
        self.lock: DeployLock | None = None
        self.state_region: str | None = None    # where the state table is (with a lock)
        self._account = "local"
        self._patient = True

    # -- scheduling -----------------------------------------------------------------
    def run(self, stacks: list[StackSpec]) -> Outcome:
        self._check_account(stacks)
        nodes = self._with_bootstrap(stacks)
        self.outcome.order = list(nodes)
        self._regions = {s.name: s.region for s in stacks}
        # Not `with`: leaving it joins the workers, and a worker blocked on a stalled
        # endpoint must not hold the process after Ctrl-C.
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.parallel))
        try:
            done = self._locked(stacks, nodes) if self.options.lock and stacks else set()
            self._schedule(pool, nodes, done)
        except KeyboardInterrupt:
            self._interrupted()
            self._patient = True
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if self._patient:       # False after a second Ctrl-C: leave at once
                self._release()
        return self.outcome

    def _locked(self, stacks: list[StackSpec], nodes: dict[str, StackSpec]) -> set[str]:
        """Deploy the bootstrap stack of the environment's region (it holds the lock
        table), then take the lock; a plan only notes whose change sets to leave alone.
        Return the nodes already done."""
        region = stacks[0].home_region
        key = f"{ASSET_STACK}@{region}"
        if key not in nodes:
            nodes[key] = bootstrap_stack(region)
            self.outcome.order.insert(0, key)
        StackFlow(self).run(key, nodes[key])
        self.state_region = region
        lock = DeployLock(self.cloud, region, lock_key(stacks[0].env, self._account, region))
        if self.options.plan_only:
            holder = lock.holder()
            self.protected_runs = {holder.run_id} if holder else set()
            return {key}
        if not lock.available():        # the bootstrap was not executed (no consent)
            for other in nodes.keys() - {key}:
                self.outcome.results[other] = f"not started ({ASSET_STACK} in {region}, " \
                                              "which holds the deploy lock, is not deployed)"
            return set(nodes)
        lock.acquire(Holder.me(self.run_id, self.options.command), self.options.lock_timeout,
                     lambda message: self.console.say(key, message))
        self.lock = lock
        return {key}

    def _release(self) -> None:
        """Give the lock back; after Ctrl-C with a stalled endpoint, give up after a
        moment rather than hold the process (`unlock` breaks a lock left behind)."""
        if self.lock is None:
            return
        releasing = threading.Thread(target=self.lock.release, daemon=True)
        releasing.start()
        releasing.join(timeout=RELEASE_LIMIT if self.outcome.interrupted else None)

    def _interrupted(self) -> None:
        """Ctrl-C or SIGTERM: no change set is executed from now on. Running stacks get a
        moment to stop waiting (a second Ctrl-C ends that moment at once), then the run
        ends with each stack's state; CloudFormation finishes what was executed."""
        self.outcome.interrupted = True
        self._patient = False
        self.cloud.stop(STOP_LIMIT)
        wait(list(self._running), timeout=GRACE)

    def _schedule(self, pool: ThreadPoolExecutor, nodes: dict[str, StackSpec],
                  done: set[str]) -> None:
        """Start each stack once its dependencies are done; a failure stops its dependants."""
        flow = StackFlow(self)
        waiting = {k: v for k, v in nodes.items() if k not in done}
        running = self._running
        failed: set[str] = set()
        while waiting or running:
            for key, spec in list(waiting.items()):
                deps = self._deps(spec, nodes)
                if deps & failed:
                    failed.add(key)
                    why = "failed" if deps & self.outcome.failures.keys() else \
                        "was not deployed"
                    self.outcome.results[key] = f"not started (a dependency {why})"
                    del waiting[key]
                elif deps <= done:
                    running[pool.submit(flow.run, key, spec)] = key
                    del waiting[key]
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                key = running.pop(future)
                if self._finished(key, future):
                    done.add(key)
                else:
                    failed.add(key)

    def _finished(self, key: str, future: Future) -> bool:
        self.outcome.phases.pop(key, None)
        try:
            future.result()
            return True
        except NotConsented as exc:
            self.outcome.results[key] = NOT_EXECUTED
            self.outcome.refusals[key] = str(exc)
            self.console.say(key, f"not executed: {exc}")
            return False
        except (DeployError, BotoCoreError, ClientError) as exc:
            message = self.cloud.target.explain(exc) or str(exc)
            self.outcome.failures[key] = message
            self.outcome.results[key] = "failed"
            self.console.say(key, f"FAILED: {message}")
            return False

    def _check_account(self, stacks: list[StackSpec]) -> None:
        """Credentials work, and an environment pinned to an account (app.yaml
        `account:`) deploys nowhere else; checked once, before anything else."""
        if self.cloud.target.local or not stacks:
            return
        try:
            actual = self.cloud.client("sts", stacks[0].region).get_caller_identity()["Account"]
        except NoCredentialsError:
            raise DeployError(NO_CREDENTIALS) from None
        except ClientError as exc:
            raise DeployError(f"these AWS credentials do not work: {exc}") from None
        self._account = actual
        wanted = {s.account for s in stacks if s.account}
        if wanted and wanted != {actual}:
            raise DeployError(f"these credentials are for account {actual}, but the "
                              f"environment is pinned to {', '.join(sorted(wanted))} "
                              "(app.yaml `account:`); nothing was changed. Use credentials "
                              "for that account")

    def _with_bootstrap(self, stacks: list[StackSpec]) -> dict[str, StackSpec]:
        nodes: dict[str, StackSpec] = {}
        for region in sorted({s.region for s in stacks if needs_assets(s)}):
            nodes[f"{ASSET_STACK}@{region}"] = bootstrap_stack(region)
        nodes.update((s.name, s) for s in stacks)
        return nodes

    def _deps(self, spec: StackSpec, nodes: dict[str, StackSpec]) -> set[str]:
        """Dependencies within this run; others (e.g. with --stage) must already exist."""
        deps = {d for d in spec.depends_on if d in nodes}
        if needs_assets(spec):
            deps.add(f"{ASSET_STACK}@{spec.region}")
        return deps

    # -- inputs ------------------------------------------------------------------------
    def region_of(self, stack: str, default: str) -> str:
        """The region of a stack of this run (the default for one outside it)."""
        return self._regions.get(stack, default)

    def wanted_hash(self, spec: StackSpec) -> str:
        """The hash a stack deployed from build/ would carry (needs its inputs deployed)."""
        return stack_hash(spec.template, self.parameters(spec), spec.tags)

    def remember(self, name: str, state: StackState) -> None:
        """A stack's state, for the parameters of the stacks that use its outputs."""
        self._states[name] = state

    def parameters(self, spec: StackSpec, unknown: dict[str, str] | None = None
                   ) -> dict[str, str]:
        """The stack's parameter values. With `unknown` (a plan), an input that exists
        only after a deploy is collected there (name → what it is) instead of raised."""
        values = {}
        for name, source in sorted(spec.parameters.items()):
            if source.get("default"):
                continue
            try:
                values[name] = self.resolve(spec, source)
            except MissingDependency:
                if unknown is None:
                    raise
                unknown[name] = _described(source)
                values[name] = KNOWN_AFTER
        return values

    def resolve(self, spec: StackSpec, source: dict) -> str:
        """The value of a manifest reference: an output, the asset bucket, a zone id."""
        if "output" in source:
            stack = source["stack"]
            state = self._states.get(stack) or self.cloud.stack(
                stack, self._regions.get(stack, spec.region))
            if state is None or source["output"] not in state.outputs:
                raise MissingDependency(f"{spec.name} needs output {source['output']} of {stack}, "
                                  f"which {'has no such output' if state else 'does not exist'};"
                                  f" deploy {stack} first")
            return state.outputs[source["output"]]
        if source.get("asset_bucket"):
            return self.asset_bucket(spec.region)
        if "hosted_zone" in source:
            zone = self.cloud.hosted_zone_id(source["hosted_zone"], create=self.cloud.target.local
                                             and not self.options.plan_only)
            if zone is None and self.cloud.target.local and self.options.plan_only:
                raise MissingDependency(f"hosted zone {source['hosted_zone']}, which the "
                                        "local deploy creates")
            if zone is None:
                raise DeployError(f"no Route 53 hosted zone named {source['hosted_zone']}; "
                                  "register the domain (or create its zone) first")
            return zone
        raise DeployError(f"{spec.name}: unknown parameter source {source}; run `make synth`")

    def asset_bucket(self, region: str) -> str:
        key = f"{ASSET_STACK}@{region}"
        state = self._states.get(key) or self.cloud.stack(ASSET_STACK, region)
        if state is None or "BucketName" not in state.outputs:
            raise MissingDependency(f"the asset bucket stack {ASSET_STACK} in {region} is not "
                                    "deployed yet")
        return state.outputs["BucketName"]


def _described(source: dict) -> str:
    """A manifest reference in words, for plan.md's inputs table."""
    if "output" in source:
        return f"output {source['output']} of {source['stack']}"
    if source.get("asset_bucket"):
        return "the asset bucket"
    return f"the hosted zone {source.get('hosted_zone', '?')}"
