# The user-facing verbs. Make creates and fills its own virtualenv (.venv) from
# setup.cfg, and re-installs only when setup.cfg or pyproject.toml change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GEN := $(BIN)/python -m generator
ARGS := $(if $(ENV),--env $(ENV)) $(if $(APP),--app $(APP))

.DEFAULT_GOAL := help
.PHONY: help synth test bench kinds clean-venv

help: ## show the verbs
	@echo "Usage: make <verb> [ENV=dev] [APP=raffle]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) (once; again only when setup.cfg changes)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

synth: $(STAMP) ## blueprints -> linted templates in build/ (ENV=, APP= to narrow)
	@$(GEN) synth $(ARGS)

test: $(STAMP) ## run the test suite
	@$(BIN)/python -m pytest -q

bench: $(STAMP) ## time synth, lint and their cache; prints a table
	@$(BIN)/python -m tests.bench

kinds: $(STAMP) ## list the resource kinds blueprints may use
	@$(GEN) kinds

clean-venv: ## remove the virtualenv (the next verb re-creates it)
	rm -rf $(VENV)
