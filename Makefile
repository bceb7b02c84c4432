# spp-import — two commands on a fresh machine:
#   make demo   installs, starts the sandbox registry, imports a sample roster, prints the summary, stops it
#   make test   installs the dev tools, runs ruff and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench reliability browser-deps clean samples

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing spp-import and its tools into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/python -m pip install --upgrade pip > $(VENV)/install.log 2>&1 \
	  && $(BIN)/python -m pip install -e '.[dev]' >> $(VENV)/install.log 2>&1 \
	  || (tail -30 $(VENV)/install.log; exit 1)
	rm -f $(VENV)/.installed-*; touch $@

demo: $(STAMP)
	$(BIN)/spp-import demo

lint: $(STAMP)
	$(BIN)/ruff check .

# Two processes, a test file each at a time (its module fixtures stay whole): most tests wait on a
# sandbox or a browser, so two halve the suite's time even on two cores (12:01 -> 7:33 here).
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The crash and fault tests at full size (5,000 people, 20+ kills); CI runs them smaller.
reliability: $(STAMP)
	SPP_RELIABILITY_FULL=1 $(BIN)/python -m pytest -q -m slow tests/test_reliability_crash.py tests/test_reliability_faults.py tests/test_transient.py

bench: $(STAMP)
	$(BIN)/python -m bench

samples: $(STAMP)
	$(BIN)/python sample_data/make_samples.py

clean:
	rm -rf $(VENV) reports .pytest_cache .ruff_cache *.egg-info
