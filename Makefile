# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= sample_data
OUT ?= artifacts/run
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
IMAGE ?= stockout-sk:local
MLFLOW_IMAGE ?= stockout-sk-mlflow:local
GITLAB_CI_LOCAL := .ci/node_modules/.bin/gitlab-ci-local
# Debian packages the suite uses (PACKAGE:COMMAND or PACKAGE:PATH, a glob allowed);
# tools/system-deps installs the missing ones as root, or prints the command (the tests that need
# them then skip, naming it). rsync: gitlab-ci-local's shell executor; postgresql: MLflow's
# production backend (tests/component/test_mlflow_server.py); chromium + an Arabic-capable font
# + libatomic1 (linked by the Node.js inside Playwright's wheel): the pages in a real browser
# (tests/component/test_pages_browser.py).
# SYSTEM_REQUIRES: without these the suite cannot run at all (libgomp1: LightGBM's OpenMP
# runtime); missing and not installable, `make test` stops naming the command.
SYSTEM_REQUIRES ?= libgomp1:/usr/lib/*/libgomp.so.1
SYSTEM_DEPS ?= rsync:rsync postgresql:/usr/lib/postgresql/*/bin/initdb chromium:chromium \
	fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf libatomic1:/usr/lib/*/libatomic.so.1
# What `make image-test` needs: podman with runc (crun cannot run on a cgroup v1 hybrid host) and
# mmdebstrap for the base image when no image registry is reachable.
IMAGE_DEPS ?= podman:podman runc:runc slirp4netns:slirp4netns netavark:/usr/lib/podman/netavark \
	aardvark-dns:/usr/lib/podman/aardvark-dns iptables:iptables uidmap:newuidmap \
	fuse-overlayfs:fuse-overlayfs mmdebstrap:mmdebstrap

.PHONY: help setup run test lint format unit component acceptance coverage sample-data benchmarks lock clean ci-tools image image-test bare-test system-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the pinned lock file

run: setup  ## the main job on sample_data/ (override DATA=... OUT=...)
	$(BIN)/stockout-sk run --data $(DATA) --out $(OUT)

test: system-deps setup lint ci-tools  ## the whole suite: lint, unit, component, acceptance, with coverage
	$(BIN)/python -m pytest --cov --cov-report=term --cov-report=xml:artifacts/coverage.xml \
		--junitxml=artifacts/junit.xml $(PYTEST_ARGS)

lint: setup  ## ruff lint + format check + the import layers contract (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: setup  ## unit tests only
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

component: setup  ## component tests only
	$(BIN)/python -m pytest -m component $(PYTEST_ARGS)

acceptance: setup  ## acceptance tests only
	$(BIN)/python -m pytest -m acceptance $(PYTEST_ARGS)

sample-data: setup  ## regenerate sample_data/ deterministically
	$(BIN)/stockout-sk synth --out sample_data --branches 6 --items 40 --days 210 --seed 23 --messy

benchmarks: setup  ## run the benchmark scripts (not part of make test)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

system-deps:  ## install (as root) or name the Debian tools the suite uses (rsync, postgresql, chromium)
	@set -f; tools/system-deps --required $(SYSTEM_REQUIRES)
	@set -f; tools/system-deps $(SYSTEM_DEPS)

ci-tools: $(GITLAB_CI_LOCAL)  ## gitlab-ci-local (npm, pinned in .ci/) for the pipeline checks

$(GITLAB_CI_LOCAL): .ci/package.json .ci/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix .ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: skipping gitlab-ci-local (its pipeline check will be skipped)"; fi

image:  ## build the app and mlflow-server images (needs a Docker engine; IMAGE=..., MLFLOW_IMAGE=...)
	docker build --target app -t $(IMAGE) .
	docker build --target mlflow-server -t $(MLFLOW_IMAGE) .

image-test: setup  ## build both images with podman, run them for real, bring up the compose stack (~10 min)
	@set -f; tools/system-deps $(IMAGE_DEPS)
	tools/image-test

bare-test:  ## `make test` from a clean clone in a scratch Debian chroot (root; ~15 min)
	@set -f; tools/system-deps mmdebstrap:mmdebstrap
	tools/bare-test

lock: setup  ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable > requirements.lock

clean:  ## remove the venv and generated artifacts
	rm -rf $(VENV) artifacts mlruns mlflow.db .pytest_cache .ruff_cache .coverage .ci/node_modules
