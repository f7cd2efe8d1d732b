# The two commands of the README do everything on a fresh machine with Python >= 3.10 and make:
#   make book   builds the HTML book into _build/html
#   make test   runs the unit tests, every chapter (smoke profile), nbval and a strict book build
# Each target creates or updates the local virtual environment .venv on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_OUT := _build/test
PYTEST_WORKERS ?= 2

.PHONY: help venv test unit chapters nbval testbook browser book reproduce ship bench lint clean

help:
	@echo "make test       unit tests, smoke run of every chapter, nbval, strict book build"
	@echo "make book       HTML book in _build/html from the recorded runs in results/"
	@echo "make reproduce PROFILE=cpu|gpu   re-execute and record every chapter"
	@echo "make ship       the trained cpu models into xinpaint/weights (after make reproduce)"
	@echo "make bench      benchmarks -> results/bench.json"
	@echo "make lint       ruff"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[book,test,jax]"
	$(PY) -m xinpaint.harness kernel
	@touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check xinpaint tests benchmarks

unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/browser -n $(PYTEST_WORKERS) --dist loadfile

# Training checkpoints go to fresh folders, so that the nbval re-execution trains again
# and its tagged outputs check that one seed gives the same smoke results.
chapters: $(STAMP)
	rm -rf $(TEST_OUT)/notebooks $(TEST_OUT)/runs-1
	XINPAINT_RUNS=$(CURDIR)/$(TEST_OUT)/runs-1 \
	$(PY) -m xinpaint.harness execute --profile smoke --out $(TEST_OUT)/notebooks --keep-going

nbval: $(STAMP)
	rm -rf $(TEST_OUT)/runs-2 $(TEST_OUT)/nbval-results
	XINPAINT_RUNS=$(CURDIR)/$(TEST_OUT)/runs-2 \
	XINPAINT_RESULTS_DIR=$(CURDIR)/$(TEST_OUT)/nbval-results \
	XINPAINT_RECORDED_DIR=$(CURDIR)/$(TEST_OUT)/notebooks \
	$(PY) -m pytest --nbval-lax --nbval-kernel-name xinpaint -p no:cacheprovider \
		-o addopts="" --durations=10 $(TEST_OUT)/notebooks/*.ipynb

testbook: $(STAMP)
	$(PY) -m xinpaint.harness build --notebooks $(TEST_OUT)/notebooks --out $(TEST_OUT)

# The smoke book in headless Chromium (skipped, with the reason, where no browser is installed).
browser: $(STAMP)
	XINPAINT_BOOK_HTML=$(CURDIR)/$(TEST_OUT)/_build/html \
	$(PY) -m pytest tests/browser -o addopts="" -p no:cacheprovider -rs

test: lint unit chapters nbval testbook browser
	@echo "make test: all green"

book: $(STAMP)
	$(PY) -m xinpaint.harness book

# PROFILE defaults to gpu where TensorFlow sees a GPU, else cpu. The reconstruction chapter
# reconstructs with the shipped models, and a model's card says whether it beats biharmonic and
# NMAR in the volume: so the chapters that train run first, then the models are shipped, then
# reconstruction, then they are shipped again (their cards now with the volume), then results.
REPRO_PROFILE = $(or $(PROFILE),$(shell $(PY) -c "from xinpaint.profiles import default_profile; print(default_profile())"))
TRAINING_CHAPTERS = data interpolation unet pconv vgg_loss budget temporal ribs
reproduce: $(STAMP)
	$(PY) -m xinpaint.harness execute --profile $(REPRO_PROFILE) $(TRAINING_CHAPTERS)
	$(MAKE) ship PROFILE=$(REPRO_PROFILE)
	$(PY) -m xinpaint.harness execute --profile $(REPRO_PROFILE) reconstruction
	$(MAKE) ship PROFILE=$(REPRO_PROFILE)
	$(PY) -m xinpaint.harness execute --profile $(REPRO_PROFILE) results

# The models named in xinpaint.shipping.SHIPPED, from the runs of the recorded chapters.
ship: $(STAMP)
	$(PY) -c "from xinpaint.shipping import ship_all; print(*ship_all('$(or $(PROFILE),cpu)'), sep='\n')"

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf _build
