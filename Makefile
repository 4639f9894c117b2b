# Every target creates .venv on first use; nothing needs to be installed beforehand but Python 3.11+ and make.
# Extra runner flags go in ARGS, e.g. `make demo ARGS="--jobs 1,3 --seed 11"` or `make report ARGS="--jobs 2"`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: demo test lab report bench lint spec clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: $(PYTHON) is missing or older than 3.11; install Python 3.11+ or run e.g. make PYTHON=python3.12 $(MAKECMDGOALS)" >&2; exit 1; }
	@echo "installing pinned dependencies into $(VENV), about 2–3 minutes the first time"
	@# A venv cut short (no ensurepip, Ctrl-C) has a python but no pip: check pip itself, and start over if it fails.
	@$(PY) -m pip --version >/dev/null 2>&1 || { \
	  $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	    echo "error: $(PYTHON) cannot create virtual environments (no venv/ensurepip); install e.g. python3-venv" >&2; exit 1; }; \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	@# -qq: errors only. pip's warnings here are about the machine's own index settings (e.g. extra index
	@# folders that do not exist), not about this project; the exit status still stops make on failure.
	@$(PY) -m pip install -qq --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)
	@echo "installed: $(VENV) is ready"

demo: $(STAMP)  ## all five jobs on the embedded sandbox; prints where index.html is
	$(PY) -m helpers.run --sandbox $(ARGS)

test: $(STAMP)  ## lint, then the whole test suite: in parallel, then the real-time pacing tests alone
	@sh scripts/ensure_chromium.sh
	$(PY) -m ruff check dags helpers sandbox apifacts tests scripts notebooks tools
	$(PY) -m scripts.test_stages

lab: $(STAMP)  ## JupyterLab on notebooks/, a sandbox running and its variables exported (WORKBOOKS_SEED, default 7)
	$(PY) -m tools.lab

report: $(STAMP)  ## all five jobs against the real APIs (keys from .env or the environment)
	@test -f .env || test -n "$$KLAVIYO_API_KEY" || { \
	  echo "error: no .env and no KLAVIYO_API_KEY: copy .env.example to .env and fill in your keys" >&2; exit 2; }
	$(PY) -m helpers.run $(ARGS)

bench: $(STAMP)  ## Klaviyo fetch benchmarks -> outputs/bench/
	$(PY) -m tools.bench $(ARGS)

spec:  ## the Klaviyo OpenAPI document the contract tests need, into the cache (../shared/specs/ wins; no .venv needed)
	@$(PYTHON) -m scripts.fetch_spec

lint: $(STAMP)
	$(PY) -m ruff check dags helpers sandbox apifacts tests scripts notebooks tools

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
