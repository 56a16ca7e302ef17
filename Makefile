# alphacut: the two commands are `make serve` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Verified downloads and prepared models live outside the clone, named by content.
export ALPHACUT_CACHE ?= $(HOME)/.cache/alphacut
DATA ?= ../shared/data/alphamatting27
PORT ?= 8000

.PHONY: all deps build serve test test-unit test-browser bench bench-quality bench-editmerge bench-colorkey \
	bench-calibrate bench-batch bench-batch-cli bench-holes bench-tune bench-decode devsets screenshots clean

all: build

# Python tools, hash-locked (requirements-dev.txt is pip-compiled from requirements-dev.in),
# and the package itself from the working tree (a .pth file: an editable install without extras).
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.3.1
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(PY) -c "import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], 'alphacut-dev.pth').write_text('$(CURDIR)/py\n')"
	touch $@

# npm packages, integrity-checked against package-lock.json by npm ci.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

bench/peer/node_modules/.package-lock.json: bench/peer/package.json bench/peer/package-lock.json
	cd bench/peer && npm ci --no-audit --no-fund --ignore-scripts

# puppeteer-core, which drives Firefox over WebDriver BiDi in the browser suite.
tests/engines/node_modules/.package-lock.json: tests/engines/package.json tests/engines/package-lock.json
	cd tests/engines && npm ci --no-audit --no-fund --ignore-scripts

# Fetch and verify everything: Pyodide's wheels (against pyodide-lock.json), the model chunks
# and the assembled model (against models/isnet.json), the prepared graph (same manifest).
deps: $(VENV)/.installed node_modules/.package-lock.json tests/engines/node_modules/.package-lock.json
	$(PY) tools/deps.py

# The self-contained static site, in build/site.
build: deps
	$(PY) tools/build_site.py

serve: build
	$(PY) tools/serve.py --port $(PORT)

# The whole suite: unit and doctests in CPython, then end to end in Chromium, and smoke runs in Firefox and WebKit.
test: build
	$(PY) -m pytest

# Unit and doctests, without the browser and without the slow pip-install test (tests/install).
test-unit: deps
	$(PY) -m pytest --ignore=tests/e2e --ignore=tests/install

test-browser: build
	$(PY) -m pytest tests/e2e

# Speed: inference alone per setting (ORT-web against native), then side by side with the peer
# in one Chromium run, then the first visit (bytes by file, time) beside the peer, then the
# memory of each pipeline stage in CPython and Pyodide; writes those four sections of BENCHMARKS.md.
bench: build bench/peer/node_modules/.package-lock.json
	$(PY) -m bench.infer --write BENCHMARKS.md
	$(PY) -m bench.speed --write BENCHMARKS.md
	$(PY) -m bench.first_visit --write BENCHMARKS.md
	$(PY) -m bench.memory --write BENCHMARKS.md

# Matting quality (CPython): each stage on alphamatting27, then the default pipeline on every dev
# set photo by photo, fp32 and int8, with the post-processing time per stage at 12 MP.
bench-quality: deps
	$(PY) -m bench.quality --data $(DATA) --write BENCHMARKS.md
	$(PY) -m bench.devquality --int8-sets alphamatting27 realmask ecssd60 --write BENCHMARKS.md

# Cross-validated choice of the anchor's settings (both folds reported).
bench-tune: deps
	$(PY) -m bench.tune_anchor

# The real-photo dev sets, rebuilt from their public sources (bench/manifests/, docs/devsets.md).
devsets: deps
	$(PY) -m bench.build_devsets

# Edit merge on synthetic pairs with a known answer.
bench-editmerge: deps
	$(PY) -m bench.editmerge --data $(DATA) --write BENCHMARKS.md $(if $(PREVIOUS),--previous $(PREVIOUS))

# Colour key against the model on studio composites; quality-check calibration (AUROC).
bench-colorkey: deps
	$(PY) -m bench.colorkey --data $(DATA) --write BENCHMARKS.md

bench-calibrate: deps
	$(PY) -m bench.calibrate --data $(DATA) --write BENCHMARKS.md

# Small gaps: enclosed holes a matte filled, opened on constructed cases and checked on the dev set.
bench-holes: deps
	$(PY) -m bench.holes --data $(DATA) --write BENCHMARKS.md

# Every refused file of the bad-input corpus, decoded in a fresh process: peak memory and time.
bench-decode: deps
	$(PY) -m bench.decode_bounds --write BENCHMARKS.md

# Batches of 50 photos in the browser (small, then 12 MP with Download all): outcomes and tab memory.
bench-batch: build
	$(PY) -m bench.batch --count 50 --write BENCHMARKS.md
	$(PY) -m bench.batch --count 50 --megapixels 12 --write BENCHMARKS.md

# The CLI on a folder of photos (100 of 2 MP and of 12 MP): plain loop, --jobs, --ray, and rembg on the
# same weights; then quality on every dev set beside rembg with and without its alpha matting.
bench-batch-cli: deps
	$(PY) -m bench.batch_cli --data $(DATA) --count 100 --write BENCHMARKS.md
	$(PY) -m bench.rembg_quality --write BENCHMARKS.md

# The README's screenshots, taken by Playwright.
screenshots: build
	$(PY) tools/screenshots.py --out docs

clean:
	rm -rf build
