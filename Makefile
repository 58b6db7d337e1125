# Two commands on a fresh clone: `make book` and `make test`. Nothing else is needed but Python 3.11.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Quiet progress bars and a project-local compile cache. nbval runs one notebook per core
# (pytest-xdist, --dist loadfile keeps a notebook's cells in one kernel).
export TQDM_DISABLE := 1
# Large CPU tensors on transparent huge pages: a fresh 64 MB buffer (per_sample_grads without out=)
# otherwise costs more in 4 KB page faults than in its writes (about 2x on the digits MLP).
export THP_MEM_ALLOC_ENABLE := 1
export TORCHINDUCTOR_CACHE_DIR := $(CURDIR)/.cache/inductor
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1

# Seconds since a stage began, printed after each stage (.ONESHELL: a recipe is one shell).
STAGE = start=$$(date +%s); echo "== $(1)"
DONE = echo "== $(1) took $$(( $$(date +%s) - start )) s"

.PHONY: venv book test lint unit nbval seeds browser build bench clean chapter

venv: $(STAMP)

# Re-installs whenever requirements.txt or pyproject.toml change (the stamp is older then).
$(STAMP): requirements.txt pyproject.toml
	@$(call STAGE,install)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	@touch $(STAMP)
	@$(call DONE,install)

book: $(STAMP)
	@$(call STAGE,book: every chapter under nbval then the build from its executions)
	rm -rf _build
	NBVAL_EXECUTED_DIR=_build/.nbval_executed \
	  $(BIN)/python -m pytest -q --nbval-lax -n auto --dist loadfile chapters
	$(BIN)/python -m sgdsde.book.nbcache _build/.nbval_executed _build/.jupyter_cache
	$(BIN)/jupyter-book build . -W -n --keep-going
	@$(call DONE,book: every chapter under nbval then the build from its executions)
	@echo "HTML: $(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	@$(call STAGE,lint and type check)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src
	$(BIN)/mypy src/sgdsde
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@$(call DONE,lint and type check)

unit: $(STAMP)
	@$(call STAGE,unit tests and doctests)
	$(BIN)/python -m pytest -q -n auto tests src/sgdsde --doctest-modules --ignore=tests/browser
	@$(call DONE,unit tests and doctests)

nbval: $(STAMP)
	@$(call STAGE,nbval on every chapter)
	$(BIN)/python -m pytest -q --nbval-lax -n auto --dist loadfile chapters
	@$(call DONE,nbval on every chapter)

# Every chapter under nbval at other seeds (BOOK_SEED), one table of the cells that failed. Not part
# of `make test` (time). `make seeds` draws N=5 seeds at random; `make seeds SEEDS="11 22 33"`, `N=10`.
N ?= 5
seeds: $(STAMP)
	@$(call STAGE,nbval on every chapter at other seeds)
	$(BIN)/python -m sgdsde.book.seedcheck $(if $(SEEDS),--seeds $(SEEDS),--n $(N))
	@$(call DONE,nbval on every chapter at other seeds)

# One chapter at a named profile and device: the executed notebook in _build/chapters/NAME-PROFILE.ipynb
# and its record in chapters/data/NAME/PROFILE.json (python -m sgdsde.book.run_chapter --help).
PROFILE ?= ci
DEVICE ?= cpu
chapter: $(STAMP)
	@test -n "$(NAME)" || { echo "usage: make chapter NAME=<chapter> [PROFILE=ci|gpu|...] [DEVICE=cpu|cuda]"; exit 2; }
	@$(call STAGE,chapter $(NAME) at profile $(PROFILE) on $(DEVICE))
	$(BIN)/python -m sgdsde.book.run_chapter $(NAME) --profile $(PROFILE) --device $(DEVICE)
	@$(call DONE,chapter $(NAME))

# The built book in headless Chromium (tests/browser): needs `make book` first, and Debian's
# chromium (apt-get install -y chromium; .ci/run installs it). Screenshots: _build/screenshots/.
browser: $(STAMP)
	@$(call STAGE,browser test of the built book)
	test -f _build/html/index.html || { echo "no built book: run make book first"; exit 1; }
	$(BIN)/python -m pytest -q -p no:xdist tests/browser
	@$(call DONE,browser test of the built book)

# nbval and the book build both execute every chapter: side by side (-j2) they share the two cores.
test: $(STAMP)
	@total=$$(date +%s)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory browser
	echo "== make test total $$(( $$(date +%s) - total )) s"

bench: $(STAMP)
	@$(call STAGE,benchmarks)
	$(BIN)/python benchmarks/run_all.py
	@$(call DONE,benchmarks)

clean:
	rm -rf _build .jupyter_cache .pytest_cache .cache .hypothesis
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
