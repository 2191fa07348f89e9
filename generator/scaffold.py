"""`generator init [DIR]`: a new project that synthesizes, tests and deploys as created.

The files are plain text below, with `__APP__` for the app name (not str.format: the
blueprints hold Jinja2's own braces). A new project never overwrites anything: a folder
that is not empty is refused unless --force, and even then existing files are kept.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field

from .errors import UsageError

NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")

APP_YAML = """\
# The app and its environments; stage files (NN-<stage>.yaml) are rendered with `values`.
version: 1
name: __APP__
description: A table and a function that writes to it
environments:
  dev:
    region: eu-west-1
    values:
      memory: 256
  local:
    region: eu-west-1
    local_only: true          # only ever deployed to the local cloud (make local)
    values:
      memory: 128
"""

STAGE_YAML = """\
description: __APP__ notes, one item per id, and the function that saves them
resources:
  Notes:
    kind: table
    key: {id: S}
  Save:
    kind: function
    code: __CODE__
    memory: "{{ memory }}"
    environment:
      TABLE_NAME: !Ref Notes
    access:
      - {resource: !GetAtt Notes.Arn, allow: [write]}
outputs:
  TableName: !Ref Notes
  FunctionName: !Ref Save
"""

HANDLER = '''\
"""Save one note: {"id": "...", "text": "..."} → the item written to the table."""

from __future__ import annotations

import json
import os


def _table():
    import boto3

    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def note(event: dict) -> dict:
    """The item to store, or ValueError naming what is missing."""
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise ValueError("give an id (a non-empty string)")
    return {"id": event["id"], "text": str(event.get("text", ""))}


def handler(event, context):
    try:
        item = note(event)
    except ValueError as exc:
        return {"statusCode": 400, "body": json.dumps({"error": str(exc)})}
    _table().put_item(Item=item)
    return {"statusCode": 200, "body": json.dumps(item)}
'''

TEST_HANDLER = '''\
import importlib.util
import json
from pathlib import Path

HANDLER = Path(__file__).resolve().parent.parent / "lambda_code" / "__CODE__" / "handler.py"
spec = importlib.util.spec_from_file_location("handler", HANDLER)
handler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)


class FakeTable:
    def __init__(self):
        self.items = []

    def put_item(self, Item):
        self.items.append(Item)


def test_a_note_is_saved(monkeypatch):
    table = FakeTable()
    monkeypatch.setattr(handler, "_table", lambda: table)
    response = handler.handler({"id": "n1", "text": "hello"}, None)
    assert response["statusCode"] == 200
    assert table.items == [{"id": "n1", "text": "hello"}]


def test_a_note_needs_an_id():
    response = handler.handler({"text": "hello"}, None)
    assert response["statusCode"] == 400
    assert "id" in json.loads(response["body"])["error"]
'''

MAKEFILE = """\
# The verbs of the generator's own project: synth, test, plan, deploy, clean, local.
# PYTHON must have the generator installed (pip install blueprint-generator[local,test]).
PYTHON ?= python3
GEN := $(PYTHON) -m generator
ARGS := $(if $(ENV),--env $(ENV)) $(if $(APP),--app $(APP))
LOCAL_PORT ?= 4566
LOCAL_ENV ?= $(or $(ENV),local)
LOCAL := --endpoint http://127.0.0.1:$(LOCAL_PORT) --env $(LOCAL_ENV) $(if $(APP),--app $(APP))
DEPLOY_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help synth test plan deploy clean local local-clean local-down kinds

help: ## show the verbs
\t@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\\n", $$1, $$2}'

synth: ## blueprints -> linted templates in build/ (ENV=, APP= to narrow)
\t@$(GEN) synth $(ARGS)

test: ## the Lambda code's tests
\t@$(PYTHON) -m pytest -q tests

plan: synth ## what a deploy would change (plan.md for a pull request)
\t@$(GEN) plan $(if $(ENV),,--env dev) $(ARGS) --markdown plan.md $(DEPLOY_ARGS)

deploy: synth ## deploy to AWS (ENV=dev by default; DEPLOY_ARGS=--yes in CI)
\t@$(GEN) deploy $(if $(ENV),,--env dev) $(ARGS) $(DEPLOY_ARGS)

clean: ## delete the deployed stacks on AWS (not build/), keep the data
\t@$(GEN) clean $(if $(ENV),,--env dev) $(ARGS) $(DEPLOY_ARGS)

local: synth ## start the local cloud on 127.0.0.1 (LOCAL_PORT, 4566) and deploy LOCAL_ENV to it
\t@$(GEN) local up --port $(LOCAL_PORT)
\t@$(GEN) deploy $(LOCAL) --yes
\t@$(GEN) outputs $(LOCAL)

local-clean: ## delete the stacks make local deployed, keep the data
\t@$(GEN) clean $(LOCAL) $(DEPLOY_ARGS)

local-down: ## stop the local cloud started by make local
\t@$(GEN) local down

kinds: ## the resource kinds blueprints may use
\t@$(GEN) kinds
"""

GITIGNORE = """\
.venv/
.cache/
__pycache__/
.pytest_cache/
# build/: templates, manifests and schema are committed and reviewed; binaries are not
build/assets/
build/ca/
plan.md
"""

CI = """\
#!/usr/bin/env bash
# CI: the build is current (committed templates match the blueprints) and tests pass.
set -euo pipefail
cd "$(dirname "$0")/.."
make synth
git diff --exit-code -- build/ || { echo "build/ is stale: run make synth and commit it"; exit 1; }
make test
"""

README = """\
# __APP__

Made with `generator init`. Blueprints in `blueprints/__APP__/` become CloudFormation in
`build/` (commit it: pull requests show the template diff).

```sh
make synth    # blueprints -> build/<env>/__APP__/*.yaml, linted
make test     # the Lambda code's tests
make local    # the local cloud on 127.0.0.1:4566, the `local` environment deployed to it
make plan     # what a deploy to AWS (ENV=dev) would change, as plan.md
```
"""


@dataclass
class Created:
    """What `init` did: files written, files kept as they were, the app's name."""

    app: str
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def files_for(app: str) -> dict[str, str]:
    """The new project's files, by path."""
    code = f"{app.replace('-', '_')}_save"
    texts = {
        f"blueprints/{app}/app.yaml": APP_YAML,
        f"blueprints/{app}/01-service.yaml": STAGE_YAML,
        f"lambda_code/{code}/handler.py": HANDLER,
        "tests/test_handler.py": TEST_HANDLER,
        "Makefile": MAKEFILE, ".gitignore": GITIGNORE, "ci/run": CI, "README.md": README,
        "build/.gitkeep": "",
    }
    return {path: text.replace("__APP__", app).replace("__CODE__", code)
            for path, text in texts.items()}


def app_name(folder: str, name: str | None) -> str:
    """The app name: given, or made from the folder's name."""
    base = os.path.basename(os.path.abspath(folder))
    guess = name or re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")
    guess = guess if guess[:1].isalpha() else f"app-{guess}".rstrip("-")
    if not NAME.fullmatch(guess or ""):
        raise UsageError(f"cannot make an app name from {base!r}: give --name, lower-case "
                         "letters, digits and dashes, starting with a letter, e.g. shop")
    return guess


def init(folder: str = ".", name: str | None = None, force: bool = False) -> Created:
    """Create a new project in `folder`; never overwrites a file."""
    if os.path.isdir(folder) and os.listdir(folder) and not force:
        raise UsageError(f"{folder} is not empty; run init in a new folder, or pass "
                         "--force to add the files that are missing (nothing is overwritten)")
    created = Created(app_name(folder, name))
    for path, text in files_for(created.app).items():
        target = os.path.join(folder, path)
        if os.path.lexists(target):
            created.kept.append(path)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(text)
        if path == "ci/run":
            os.chmod(target, 0o755)
        created.written.append(path)
    return created


def init_verb(args) -> int:
    created = init(args.dir, args.name, args.force)
    for path in created.written:
        print(f"created {os.path.join(args.dir, path)}")
    for path in created.kept:
        print(f"kept    {os.path.join(args.dir, path)} (it exists)")
    where = "" if os.path.abspath(args.dir) == os.getcwd() else f"cd {args.dir} && "
    print(f"\nnew app {created.app!r}. Next: {where}make synth test local "
          f"PYTHON={sys.executable}")
    return 0
