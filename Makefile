# Two commands do everything: `make demo` and `make test`. Both set up what they need
# (a virtual environment in .venv, Graphviz's dot; the demo only the package and its viz
# extra, the tests also the test tools, the docs tools and PyTorch) and are quick when that
# is already done. `make check` is the fast loop while editing. Both lint first: ruff, then
# mypy (configured in pyproject.toml: strict for autograd, the public API for nn and viz).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime

.PHONY: demo test check lint setup check-dot check-chromium benchmark notebooks docs clean

setup: $(STAMP) check-dot

# What the demo needs: chainrule (editable) with its viz extra, nothing else. For speed the
# venv gets pip from this Python's pip (plain `venv` when that cannot), and nothing is
# byte-compiled at install (Python compiles what the demo imports as it imports it).
$(RUNTIME): setup.cfg pyproject.toml
	@test -x $(PY) || { $(PYTHON) -m venv --without-pip $(VENV) \
		&& $(PYTHON) -m pip --python $(PY) install -q --no-compile pip; } >/dev/null 2>&1 \
		|| $(PYTHON) -m venv --clear $(VENV)
	@echo "Installing chainrule and its viz extra into $(VENV) ..."
	@$(PIP) install -q --no-compile -e '.[viz]' > $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; echo "error: installing chainrule into $(VENV) failed (log above)"; exit 1; }
	@touch $@

$(STAMP): $(RUNTIME)
	@echo "Installing chainrule's test and docs tools into $(VENV) ..."
	@$(PIP) install -q --upgrade pip >> $(VENV)/pip.log 2>&1 || true
	@$(PIP) install -q -e '.[test]' >> $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; echo "error: installing chainrule into $(VENV) failed (log above)"; exit 1; }
	@echo "Installing PyTorch 2.13.0 (CPU) for the comparison tests ..."
	@$(PIP) install -q torch==2.13.0 >> $(VENV)/pip.log 2>&1 || true
	@$(PY) -c "import torch" 2>/dev/null \
		|| echo "note: PyTorch is not installed; tests that compare against it will skip"
	@touch $@

# Graphviz's `dot` program renders diagrams. Install it where we may (root with apt-get),
# else say clearly what to do.
check-dot:
	@command -v dot >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Graphviz (dot) with apt-get ..."; \
			(apt-get update -qq && apt-get install -y -qq graphviz) >/dev/null 2>&1 || true; \
		fi; }
	@command -v dot >/dev/null 2>&1 \
		|| echo "note: Graphviz's 'dot' program is missing, so diagrams cannot be rendered to files. Install it: 'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS), 'conda install graphviz'."

# Debian's chromium runs the stepper's HTML page in the viz tests (headless, no network).
check-chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing chromium with apt-get (for the headless-browser test) ..."; \
			(apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || true; \
		fi; }
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| echo "note: chromium is missing, so the test that steps through the HTML page in a browser will skip. Install it: 'sudo apt-get install chromium' (Debian)."

demo: $(RUNTIME) check-dot
	@$(PY) -m viz.demo --out out

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

# Everything: ruff and mypy, then every test. CI (.ci/run) runs this.
test: setup check-chromium lint
	$(PY) -m pytest

# The fast loop: ruff and mypy, then every test not marked slow (pyproject's markers). It
# skips the notebooks, the README's training example, the training runs (micrograd's demo,
# viz's demo), the headless-browser tests and the million-node chains; `make test` runs them.
check: setup lint
	$(PY) -m pytest -m "not slow"

benchmark: setup
	$(PY) benchmarks/run.py

# Re-execute every notebook in place (fresh kernel, nbclient) so its stored outputs are what
# the code prints now; `make test` fails when they are stale. One: make notebooks NB=04_losses
NB ?= *
notebooks: setup
	$(PY) notebooks/execute.py notebooks/$(NB).ipynb

# The documentation site in site/: the README as the guide, the API reference from the
# docstrings, the op table generated from autograd.ops.OPS, the notebooks (not executed).
# Warnings are errors; `make test` builds it too (tests/test_docs.py).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info site
