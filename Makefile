# The user-facing verbs. Make creates and fills its own virtualenvs from the hashed lock
# files in requirements/ (.venv for the project, .venv-referees for checkov), and
# re-installs only when a lock, setup.cfg or pyproject.toml change.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REFEREES ?= .venv-referees
REFEREES_STAMP := $(REFEREES)/.installed
LOCK_VENV ?= .venv-lock
PIP_LOCK := requirements/pip.lock
APP_LOCK := requirements/app.lock
REFEREES_LOCK := requirements/referees.lock
PIP := -m pip install --quiet --disable-pip-version-check
GEN := $(BIN)/python -m generator
ARGS := $(if $(ENV),--env $(ENV)) $(if $(APP),--app $(APP))
LOCAL_PORT ?= 4566
LOCAL_ENV ?= $(or $(ENV),local)
DEPLOY_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install referees lock synth test e2e bench kinds ca deploy plan clean local local-clean local-down local-reset clean-venv

help: ## show the verbs
	@echo "Usage: make <verb> [ENV=dev] [APP=raffle]"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# pip and setuptools first (hashed too), then every pinned dependency with its hashes,
# then the project itself without dependencies, built by that setuptools.
$(STAMP): setup.cfg pyproject.toml $(PIP_LOCK) $(APP_LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing $(APP_LOCK) into $(VENV) (again only when a lock or setup.cfg changes)"
	@$(BIN)/python $(PIP) --require-hashes --upgrade -r $(PIP_LOCK)
	@$(BIN)/python $(PIP) --require-hashes -r $(APP_LOCK)
	@$(BIN)/python $(PIP) --no-deps --no-build-isolation -e .
	@$(BIN)/python -m compileall -q generator >/dev/null
	@touch $(STAMP)

# checkov pins boto3, botocore and more far from ours: it lives in a venv of its own.
$(REFEREES_STAMP): $(PIP_LOCK) $(REFEREES_LOCK)
	@test -x $(REFEREES)/bin/python || $(PYTHON) -m venv $(REFEREES)
	@echo "installing $(REFEREES_LOCK) (checkov) into $(REFEREES)"
	@$(REFEREES)/bin/python $(PIP) --require-hashes --upgrade -r $(PIP_LOCK)
	@$(REFEREES)/bin/python $(PIP) --require-hashes -r $(REFEREES_LOCK)
	@touch $(REFEREES_STAMP)

install: $(STAMP) ## create the virtualenv and install (other verbs do this themselves)

referees: $(REFEREES_STAMP) ## install checkov into its own virtualenv (make test does this itself)

# Resolved against PyPI alone, whatever this machine's pip configuration adds.
COMPILE = PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= $(LOCK_VENV)/bin/pip-compile \
	--quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links --index-url https://pypi.org/simple
lock: ## refresh the hashed lock files in requirements/ (pip-tools, from PyPI)
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
	  $(LOCK_VENV)/bin/python $(PIP) 'pip-tools>=7.5,<8'; }
	@$(COMPILE) -o $(PIP_LOCK) requirements/pip.in
	@$(COMPILE) --extra test --extra local -o $(APP_LOCK) setup.cfg
	@$(COMPILE) -o $(REFEREES_LOCK) requirements/referees.in
	@echo "wrote $(PIP_LOCK), $(APP_LOCK) and $(REFEREES_LOCK)"

synth: $(STAMP) ## blueprints -> linted templates in build/ (ENV=, APP= to narrow)
	@$(GEN) synth $(ARGS)

CHROMIUM ?= /usr/bin/chromium

# One pytest worker per core (pytest-xdist). Tests sharing a module fixture (a local
# cloud, a deployed site, a checkov run) stay on one worker, so it is set up once
# (tests/conftest.py schedules them); the others go to whichever worker is free.
TEST_WORKERS ?= auto
test: $(STAMP) $(REFEREES_STAMP) $(CHROMIUM) ## run the test suite on every core (browser test and checkov included)
	@REFEREES=$(REFEREES) $(BIN)/python -m pytest -q -n $(TEST_WORKERS)

e2e: $(STAMP) $(CHROMIUM) ## the raffle site in headless Chromium on the local cloud (screenshots in build/e2e/)
	@$(BIN)/python -m pytest -q -m e2e

# Playwright drives the system Chromium from Debian: no browser is downloaded.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium (needed by the browser test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "the browser test needs Chromium at $(CHROMIUM): install it (sudo apt-get install chromium) or set CHROMIUM=/path/to/chromium"; exit 1; \
	fi

bench: $(STAMP) ## time synth, lint and their cache against cfn-lint; SCALE=1,10,100,1000 adds rows at scale
	@$(BIN)/python -m tests.bench $(if $(SCALE),--scale $(SCALE))

# deploy and plan synthesize first, so they never work from a stale build/.
deploy: $(STAMP) synth ## deploy to AWS in dependency order (ENV=, APP=; DEPLOY_ARGS=--yes in CI)
	@$(GEN) deploy $(ARGS) $(DEPLOY_ARGS)

plan: $(STAMP) synth ## show what a deploy would change (writes plan.md for a PR)
	@$(GEN) plan $(ARGS) --markdown plan.md $(DEPLOY_ARGS)

clean: $(STAMP) ## delete the deployed stacks on AWS in reverse order (not build/); data is kept and listed
	@$(GEN) clean $(ARGS) $(DEPLOY_ARGS)

LOCAL_DEPLOY = $(GEN) deploy --endpoint http://127.0.0.1:$(LOCAL_PORT) --yes --env $(LOCAL_ENV) $(if $(APP),--app $(APP)) \
	&& $(GEN) outputs --endpoint http://127.0.0.1:$(LOCAL_PORT) --env $(LOCAL_ENV) $(if $(APP),--app $(APP))

local: $(STAMP) ca synth ## start the local cloud on 127.0.0.1:4566 (its data kept across restarts), deploy the apps, print URLs
	@$(GEN) local up --port $(LOCAL_PORT)
	@$(LOCAL_DEPLOY)

local-clean: $(STAMP) ## delete the stacks make local deployed (reverse order, after asking); data is kept and listed
	@$(GEN) clean --endpoint http://127.0.0.1:$(LOCAL_PORT) --env $(LOCAL_ENV) $(if $(APP),--app $(APP)) $(DEPLOY_ARGS)

local-down: $(STAMP) ## stop the local cloud started by make local (by its PID); it saves its data
	@$(GEN) local down

local-reset: $(STAMP) ca synth ## stop the local cloud, forget its data, start it empty and deploy both apps
	@$(GEN) local down
	@$(GEN) local up --fresh --port $(LOCAL_PORT)
	@$(LOCAL_DEPLOY)

kinds: $(STAMP) ## list the resource kinds blueprints may use
	@$(GEN) kinds

clean-venv: ## remove the virtualenvs (the next verb re-creates them)
	rm -rf $(VENV) $(REFEREES) $(LOCK_VENV)

CA_DIR ?= build/ca
ca: $(CA_DIR)/RootCA.pem ## development CA + client certificate for mutual TLS (build/ca/, never committed)

$(CA_DIR)/RootCA.pem:
	@mkdir -p $(CA_DIR) && chmod 700 $(CA_DIR)
	@openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
	  -subj "/CN=raffle development CA" -addext "basicConstraints=critical,CA:TRUE" \
	  -addext "keyUsage=critical,keyCertSign,cRLSign" \
	  -keyout $(CA_DIR)/RootCA.key -out $(CA_DIR)/RootCA.pem 2>/dev/null
	@openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	  -subj "/CN=raffle client" -keyout $(CA_DIR)/client.key -out $(CA_DIR)/client.csr 2>/dev/null
	@printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > $(CA_DIR)/client.ext
	@openssl x509 -req -in $(CA_DIR)/client.csr -CA $(CA_DIR)/RootCA.pem -CAkey $(CA_DIR)/RootCA.key \
	  -CAcreateserial -days 365 -extfile $(CA_DIR)/client.ext -out $(CA_DIR)/client.pem 2>/dev/null
	@chmod 600 $(CA_DIR)/*.key
	@rm -f $(CA_DIR)/client.csr $(CA_DIR)/client.ext
	@echo "made $(CA_DIR)/RootCA.pem (the truststore bundle) and client.pem/client.key; keys stay in $(CA_DIR), git-ignored"
