# The two commands a fresh machine needs: `make demo` and `make test`.
# Every target sets up the dev venv first when it is missing or stale.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_PACKAGES := azure-cli pytest responses hypothesis setuptools wheel azure-monitor-opentelemetry-exporter opentelemetry-sdk \
                wordfreq english-words names detect-secrets pylint flake8

.PHONY: install test lint demo wheel index bench vocabulary clean

install: $(STAMP)

$(STAMP): setup.py Makefile constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt $(DEV_PACKAGES)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	# az discovers a dev extension by the *.egg-info beside the sources; new setuptools
	# editable installs no longer leave one there, so make it explicitly.
	$(PY) setup.py --quiet egg_info
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# The rules azdev applies to extensions (pylintrc, setup.cfg [flake8]) and azdev linter's
# help rules (scripts/lint_help.py). pylint skips tests/ and scripts/, as azdev does.
lint: $(STAMP)
	$(PY) -m pylint --rcfile=pylintrc azext_prototype telemetry_sender
	$(PY) -m flake8 azext_prototype telemetry_sender tests scripts setup.py
	$(PY) scripts/lint_help.py

demo: $(STAMP)
	$(PY) scripts/demo.py

wheel: $(STAMP)
	rm -rf build dist/prototype-*.whl
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist .
	@ls dist/prototype-*.whl

# An extension index (the format of az's index.json) listing the wheel, for
# `az config set extension.index_url=<url of index.json>` then `az extension add --name prototype`.
# INDEX_URL_BASE: where the wheel will be served from (default: its file:// path).
index: wheel
	$(PY) scripts/make_index.py dist/prototype-*.whl --output dist/index.json $(if $(INDEX_URL_BASE),--url-base $(INDEX_URL_BASE))

bench: $(STAMP)
	$(PY) scripts/bench.py

# Rebuild the shipped word list error text is kept by (commit the result); --check in CI.
vocabulary: $(STAMP)
	$(PY) scripts/build_vocabulary.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis .bench
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
