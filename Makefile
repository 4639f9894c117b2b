# Every target creates .venv on first use; nothing needs to be installed beforehand but Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lab report bench lint clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

demo: $(STAMP)  ## run all five jobs on the embedded sandbox
	$(PY) -m helpers.run --sandbox

test: $(STAMP)  ## lint, then the whole test suite
	$(PY) -m ruff check helpers tests scripts
	$(PY) -m pytest -n auto -q

lab: $(STAMP)  ## JupyterLab on the notebooks, pointed at a sandbox
	$(PY) -m helpers.lab

report: $(STAMP)  ## all five jobs against the real APIs (keys from .env)
	$(PY) -m helpers.run

bench: $(STAMP)  ## Klaviyo fetch benchmarks -> outputs/bench/
	$(PY) -m helpers.bench

lint: $(STAMP)
	$(PY) -m ruff check helpers tests scripts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
