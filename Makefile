# Two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx

.PHONY: run test install install-dev translations extract-messages chromium nginx audit benchmarks clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled catalogues are build output (not in git); the .po files are the source.
translations: $(VENV)/.installed
	@$(VENV)/bin/pybabel compile -d participation/translations -D messages --statistics

# Refresh the catalogues after changing user-facing text; then translate the new entries.
extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --ignore-dirs ".* __pycache__" -o participation/translations/messages.pot .
	$(VENV)/bin/pybabel update -i participation/translations/messages.pot -d participation/translations \
	  --no-fuzzy-matching --ignore-obsolete

# The system Chromium drives the browser tests; Playwright never downloads its own.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Chromium from Debian's packages for the browser tests..."; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

run: $(VENV)/.installed translations
	@set -a; [ -f .env ] && . ./.env; set +a; \
	$(FLASK) db upgrade && \
	seeded=$$($(FLASK) seed-demo --if-empty) && echo "$$seeded" && \
	{ f="$${INSTANCE_PATH:-instance}/demo-accounts.txt"; \
	  if [[ "$$seeded" == *"not seeded again"* && -f "$$f" ]]; then \
	    echo; echo "Demo logins (from $$f):"; cat "$$f"; fi; } && \
	port="$${PORT:-5000}" && \
	echo && echo "Serving on http://127.0.0.1:$$port  (Ctrl+C stops), with one background worker (jobs and mail;" \
	  "without MAIL_SERVER the mails are .eml files under $${INSTANCE_PATH:-instance}/mail/)" && \
	{ $(FLASK) run-jobs & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	  $(VENV)/bin/gunicorn --workers 2 --bind "127.0.0.1:$$port" --access-logfile - app:app; }

# Debian's nginx runs deploy/nginx/musrenbang.conf in tests/test_deploy_nginx.py, started by the
# test on loopback ports; the system service the package sets up is stopped and disabled.
nginx:
	@if [ ! -x $(NGINX) ]; then \
	  echo "Installing nginx from Debian's packages for the deployment test..."; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq nginx openssl >/dev/null; \
	  if [ -d /run/systemd/system ]; then $$SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi; \
	fi

# pip-audit over the pinned requirements; without the advisory database it says so and passes.
audit: $(VENV)/.installed-dev
	$(PY) scripts/audit.py

test: $(VENV)/.installed-dev translations chromium nginx
	$(PY) -m pytest -n auto

benchmarks: $(VENV)/.installed-dev
	OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/scoring.py
	$(PY) benchmarks/imports.py
	$(PY) benchmarks/review.py
	$(PY) benchmarks/documents.py
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
