# The two commands: `make run` (set up and run the service) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint bench bench-compare install clean-var fonts chromium msgfmt

# Invoice PDFs embed this TrueType font (CJK glyphs included): Debian's fonts-wqy-microhei.
PDF_FONT_PATH ?= /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) fonts

fonts: $(PDF_FONT_PATH)

$(PDF_FONT_PATH):
	@echo "Installing the PDF font (Debian package fonts-wqy-microhei)"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-wqy-microhei

# The browser tests (tests/browser) drive Debian's Chromium through Playwright: no browser is
# downloaded (`playwright install` is never run).
CHROMIUM_PATH ?= /usr/bin/chromium

chromium: $(CHROMIUM_PATH)

$(CHROMIUM_PATH):
	@echo "Installing Chromium for the browser tests (Debian package chromium)"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# The translation tests compile every catalogue (locale/, <app>/locale/) with gettext's msgfmt and
# compare it with the committed .mo.
MSGFMT_PATH ?= /usr/bin/msgfmt

msgfmt: $(MSGFMT_PATH)

$(MSGFMT_PATH):
	@echo "Installing msgfmt for the translation tests (Debian package gettext)"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gettext

## Set up and run web + Celery worker + Celery beat with demo data (embedded PostgreSQL/Redis
## under var/ unless DATABASE_URL / REDIS_URL are set). Ctrl-C stops all three.
run: $(STAMP) fonts
	$(BIN)/python scripts/stack.py run

## The whole suite, against real PostgreSQL and Redis.
test: $(STAMP) fonts chromium msgfmt
	$(BIN)/python scripts/stack.py exec -- $(BIN)/pytest $(PYTEST_ARGS)

## Every API operation fuzzed at length (tests/core/test_fuzz.py; `make test` runs it briefly):
## FUZZ_EXAMPLES per operation and role, schemathesis' coverage phase too, a random seed unless
## FUZZ_SEED is given (it is printed, so a failing run can be repeated).
FUZZ_EXAMPLES ?= 200
ifndef FUZZ_SEED
FUZZ_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
fuzz: $(STAMP) fonts
	@echo "make fuzz: FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED)"
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_PHASES=examples,coverage,fuzzing \
		$(BIN)/python scripts/stack.py exec -- $(BIN)/pytest tests/core/test_fuzz.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/stack.py exec -- $(BIN)/mypy .
	$(BIN)/python scripts/stack.py exec -- $(BIN)/python manage.py makemigrations --check --dry-run

bench: $(STAMP)
	$(BIN)/python scripts/stack.py exec -- $(BIN)/python bench/run.py $(BENCH_ARGS)

## The benchmarks on BASE (a git revision) and on this tree, alternating, side by side.
ROUNDS ?= 2
bench-compare: $(STAMP)
	$(BIN)/python scripts/stack.py exec -- $(BIN)/python bench/compare.py $(BASE) $(BENCH_ARGS) --rounds $(ROUNDS)

clean-var:
	rm -rf var/
