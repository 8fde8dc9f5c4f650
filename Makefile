# One virtualenv, created on demand; every target installs what it needs. `make demo` installs only
# the runtime and the local sandbox (.[sandbox]); everything else installs all extras. Installs go
# through uv (put into the virtualenv by pip, ten times faster than pip), or pip where uv can't be had.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-sandbox
# (expanded when a recipe runs: after the virtualenv, and uv in it, exist)
PIP_INSTALL = $(shell test -x $(BIN)/uv && echo "$(BIN)/uv pip install -q --python $(BIN)/python" || echo "$(BIN)/pip install -q")

.PHONY: install test lint typecheck unit bench fuzz demo clean package synth deploy browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv \
		|| echo "make: uv could not be installed; installing with pip (slower)" >&2

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e ".[dev,infra,sandbox]"
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e ".[sandbox]"
	touch $(DEMO_STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's Chromium for the dashboard's browser tests (never Playwright's own downloads); where it
# cannot be installed, tests/browser skip and say so.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji) \
		|| echo "make browser: chromium could not be installed; the browser tests will be skipped" >&2

# Compiled modules are cached under build/ even where the environment sets PYTHONDONTWRITEBYTECODE:
# the suite and the sandbox start many Python processes (test workers, the local AWS, cold-start
# checks), and each would compile every module again (~15 s of CPU per test worker alone).
PYCACHE := env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/build/pycache

# The whole suite: lint, types, then tests in parallel on every core.
test: lint typecheck browser
	$(PYCACHE) $(BIN)/pytest -n auto -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# Schemathesis' OpenAPI fuzzing of the whole API over moto: 0 server errors; prints how many requests
# it generated. FUZZ_EXAMPLES=N per operation (default 100).
fuzz: $(STAMP)
	COBRANCA_FUZZ=1 $(BIN)/pytest -p no:cacheprovider tests/fuzz

bench: $(STAMP)
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# make demo BILLING_SYSTEM=ixc (or sgp, hubsoft): the same campaign with that ERP's simulator as the billing system.
BILLING_SYSTEM ?= generic
WHATSAPP_OUTAGE ?=

demo: $(DEMO_STAMP)
	BILLING_SYSTEM=$(BILLING_SYSTEM) $(PYCACHE) $(BIN)/cobranca demo $(if $(WHATSAPP_OUTAGE),--whatsapp-outage $(WHATSAPP_OUTAGE))

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache

# --- AWS (README: "Deploying to AWS") --------------------------------------------------------------
# make synth | make deploy STAGE=prod CDK_ARGS="-c certificateArn=... -c COMPANY_NAME=..."
STAGE      ?= dev
CDK_ARGS   ?=
LAMBDA_DIR := build/lambda
CDK_BIN    := infra/node_modules/.bin/cdk
# The CDK's Python bridge (jsii) otherwise prints a banner on every run about this Node's age.
CDK        := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(CDK_BIN)

# The pinned CDK CLI (infra/package-lock.json), installed locally: no global npm packages.
$(CDK_BIN): infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund
	touch $@

# The one code asset of every Lambda function: shared/ + functions/ + arm64 wheels, no Docker.
package: $(STAMP)
	$(BIN)/python -m infra.cdk.lambda_package $(LAMBDA_DIR)

synth: $(STAMP) $(CDK_BIN) package
	$(CDK) synth --quiet --context stage=$(STAGE) --context lambdaAsset=$(LAMBDA_DIR) $(CDK_ARGS)

# Needs AWS credentials, a bootstrapped account (cdk bootstrap) and Docker for the bridge image.
deploy: $(STAMP) $(CDK_BIN) package
	$(CDK) deploy --context stage=$(STAGE) --context lambdaAsset=$(LAMBDA_DIR) $(CDK_ARGS)
