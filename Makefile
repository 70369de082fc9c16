# Two commands do everything: `make repro` (build the dataset from data/raw/sample) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-16)

export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: setup repro test test-scale bench bench-setup lock bench-lock clean

setup: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip sync --quiet --python $(PY) --compile-bytecode requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

repro: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

test: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest

test-scale: setup
	$(PY) -m pytest -m scale

bench: setup
	$(PY) bench/quality.py
	$(PY) bench/speed.py

lock:
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes --no-header requirements.in -o requirements.lock

# datatrove for the side-by-side run of bench/speed.py, in its own environment (optional)
BENCH_VENV := .venv-bench

bench-setup: setup
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(VENV)/bin/uv pip sync --quiet --python $(BENCH_VENV)/bin/python --compile-bytecode bench/requirements.lock

bench-lock:
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes --no-header bench/requirements.in -o bench/requirements.lock

clean:
	rm -rf data/interim data/publish metrics reports
