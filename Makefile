# The two commands a fresh machine needs: `make demo` and `make test`.
# Every target sets up the dev venv first when it is missing or stale.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_PACKAGES := azure-cli pytest responses hypothesis setuptools wheel azure-monitor-opentelemetry-exporter opentelemetry-sdk \
                wordfreq english-words names detect-secrets

.PHONY: install test demo wheel bench vocabulary clean

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

demo: $(STAMP)
	$(PY) scripts/demo.py

wheel: $(STAMP)
	rm -rf build dist/prototype-*.whl
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist .
	@ls dist/prototype-*.whl

bench: $(STAMP)
	$(PY) scripts/bench.py

# Rebuild the shipped word list error text is kept by (commit the result); --check in CI.
vocabulary: $(STAMP)
	$(PY) scripts/build_vocabulary.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis .bench
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
