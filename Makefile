# Developer and CI entry points. Targets are grouped by area; add new groups below the last.

PYTHON ?= .venv/bin/python
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: help venv test cluster-build cluster-up cluster-down cluster-status

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# --- Python environment -------------------------------------------------------------------

venv: $(VENV)/.installed ## create .venv and install the project with its dev extra

# The stamp is refreshed when pyproject.toml changes, so new dependencies get installed.
$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

# --- Tests --------------------------------------------------------------------------------

# All tiers; integration tests start the test control plane themselves when it is not up.
# The binaries are built first, outside pytest, so a first (long) build is not cut short by
# the per-test timeout of the fixture that starts the control plane.
test: venv cluster-build ## run every test (unit, API, integration)
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# --- Test control plane (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1) -------

cluster-build: venv ## build or reuse the control plane binaries (cached outside the repo)
	$(PYTHON) hack/cluster.py build

cluster-up: venv ## start the control plane; writes .cluster/kubeconfig, no-op when up
	$(PYTHON) hack/cluster.py up

cluster-down: ## stop the control plane and remove its data
	$(PYTHON) hack/cluster.py down

cluster-status: ## exit 0 when the control plane is up and ready
	$(PYTHON) hack/cluster.py status

# --- The product on this machine (control plane, operator, gateway) -----------------------

.PHONY: up down demo lint crds

up: venv ## start control plane, operator and gateway in the background; writes .cluster/env
	$(PYTHON) -m hack.stack up

down: ## stop the gateway, the operator and the control plane
	$(PYTHON) -m hack.stack down

demo: venv ## the main job: everything up, a task from a Git repository, its run, an update
	$(PYTHON) -m hack.demo

# --- Code checks ----------------------------------------------------------------------------

crds: venv ## regenerate crds/ and the chart's copy from the pydantic models
	$(PYTHON) -m condatask.crd

lint: venv ## formatter, linter, strict typing, layering, and CRDs in step with the models
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PYTHON) -m condatask.crd --check

# --- Benchmarks (figures and ratios, printed; never asserted) -------------------------------

.PHONY: bench

bench: venv ## measure poll cost, environment builds and gateway latency; prints tables
	$(PYTHON) -m benchmarks
