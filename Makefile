# zcbench: `make bench` runs the main job, `make test` the tests. Both create .venv if missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# A CPU build of torch from the local wheel cache; override for CUDA, e.g. TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: perf-space bench-reference docs-check study scale gpu-check chaos report-check determinism venv test test-slow test-all bench perf perf-sharing perf-workers perf-memory foundation-report lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	@# setuptools' "Editable installation ... folders with the same name" note is information
	@# only (the zcbench.proxies / .searchers mapping needs its meta-path finder): not shown
	PYTHONWARNINGS="ignore:Editable installation" \
		$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

test-all: $(STAMP)
	$(PY) -m pytest -m "not gpu"

# the main job, measured on this machine into bench-out/ (untracked), its figures printed
# beside the committed reference run in reports/bench/ (about 15 minutes on 2 CPU cores)
BENCH_OUT ?= bench-out
bench: $(STAMP)
	$(VENV)/bin/zcbench bench --out $(BENCH_OUT) --reference reports/bench

# refresh the committed reference: resumes from reports/bench/scores.db (scores only what is
# missing), reruns the checks, the search and the report, and records what it printed in
# refresh_run.txt (bench_run.txt keeps the timed first run from a clean clone)
bench-reference: $(STAMP)
	$(VENV)/bin/zcbench -q bench --out reports/bench --reference none | tee reports/bench/refresh_run.txt
	gzip -9 -n -f reports/bench/search/trace.csv  # committed compressed

# every shell command shown in README.md and docs/ (tests/test_docs.py; part of `make test`)
docs-check: $(STAMP)
	$(PY) -m pytest -q tests/test_docs.py tests/test_readme.py

# a space without a benchmark, end to end (7 minutes on 2 cores): the example plug-in
# space resnet-macro, 24 architectures scored with every proxy and trained briefly for their
# ground truth, then the report "which proxy to trust on this space"
study: $(STAMP)
	$(VENV)/bin/zcbench study --space resnet-macro --sample 24 --out reports/study

# fused vs unfused seconds/arch, GFLOP/s against a large matmul (a few minutes on 2 cores)
# (perf-sharing: the same without grasp, zen and zico, whose passes cannot be shared)
# the 17-proxy panel make perf measures (fixed, so the figure stays comparable while new
# proxies join --proxies all)
PANEL17 = epe_nas,fisher,flops,grad_norm,grasp,jacob_cov,l2_norm,meco,naswot,params,plain,snip,swap,synaptic_diversity_tftas,synflow,zen,zico
SHARING = epe_nas,fisher,flops,grad_norm,jacob_cov,l2_norm,meco,naswot,params,plain,snip,swap,synaptic_diversity_tftas,synflow
perf: $(STAMP)
	$(VENV)/bin/zcbench perf --archs 20 --proxies $(PANEL17) --out reports/perf

perf-sharing: $(STAMP)
	$(VENV)/bin/zcbench perf --archs 20 --proxies $(SHARING) --out reports/perf-sharing

# zcbench score's throughput on this machine: one process (torch's threads) vs --workers 2
# (one thread each), the same 20 architectures and make perf's panel; then how their values
# compare
PW := reports/perf-workers
perf-workers: $(STAMP)
	rm -f $(PW)/workers*.db* && mkdir -p $(PW)
	for w in 1 2; do $(VENV)/bin/zcbench -q score --sample 20 --sample-seed 2 --proxies $(PANEL17) \
		--workers $$w --store $(PW)/workers$$w.db | grep '^scored' | sed "s/^/--workers $$w: /" \
		|| exit 1; done | tee $(PW)/result.txt
	$(VENV)/bin/zcbench diff $(PW)/workers1.db $(PW)/workers2.db | tee -a $(PW)/result.txt

# how long the whole NB201 space takes here with --workers: measured throughput of the full
# panel (40 archs) and the cheap one (200 archs) per dataset, extrapolated (about 7 minutes)
perf-space: $(STAMP)
	$(PY) reports/perf/space_time.py --out reports/perf

# resident-memory growth while scoring 1,000 architectures in one process (long)
perf-memory: $(STAMP)
	$(VENV)/bin/zcbench perf --archs 5 --memory 1000 --out reports/perf-memory

# score the same 20 architectures twice with every proxy, into two stores, and compare
DET := reports/determinism
determinism: $(STAMP)
	rm -f $(DET)/run1.db* $(DET)/run2.db*
	mkdir -p $(DET)
	for run in 1 2; do $(VENV)/bin/zcbench -q score --sample 20 --sample-seed 1 \
		--proxies all --store $(DET)/run$$run.db > /dev/null || exit 1; done
	$(VENV)/bin/zcbench diff $(DET)/run1.db $(DET)/run2.db --out $(DET)/result.txt

# SIGKILL zcbench score at random moments (one process, --workers 2, Ray), rerun each time, and
# check every result stored exactly once with an uninterrupted run's values (about 10 min)
# the three executors on the same 200 architectures (archs/s and zcbench diff of the values,
# one torch thread per process; the cheap panel), then the driver's resident memory over 2,000
# architectures scored by 2 Ray actors (about 20 minutes on 2 cores)
SCALE := reports/scale
SCALE_PROXIES := synflow,naswot,meco,zico,params,flops
MEMORY_PROXIES := synflow,naswot,params,flops
SCALE_RUN := $(VENV)/bin/zcbench -q score --sample 200 --sample-seed 4 --proxies $(SCALE_PROXIES)
scale: $(STAMP)
	rm -f $(SCALE)/*.db* $(SCALE)/memory_rss.csv && mkdir -p $(SCALE)
	{ $(SCALE_RUN) --threads 1 --store $(SCALE)/inprocess.db | grep '^scored' | sed 's/^/in-process (1 thread): /' \
	&& $(SCALE_RUN) --workers 2 --threads 1 --store $(SCALE)/workers2.db | grep '^scored' | sed 's/^/--workers 2: /' \
	&& $(SCALE_RUN) --executor ray --workers 2 --threads 1 --store $(SCALE)/ray.db | grep '^scored' | sed 's/^/--executor ray --workers 2: /' \
	&& echo "in-process vs --workers 2:" && $(VENV)/bin/zcbench diff $(SCALE)/inprocess.db $(SCALE)/workers2.db \
	&& echo "in-process vs ray:" && $(VENV)/bin/zcbench diff $(SCALE)/inprocess.db $(SCALE)/ray.db; } | tee $(SCALE)/result.txt
	$(VENV)/bin/zcbench -q score --sample 2000 --sample-seed 5 --proxies $(MEMORY_PROXIES) --executor ray \
		--workers 2 --threads 1 --store $(SCALE)/memory.db --rss-log $(SCALE)/memory_rss.csv | grep '^scored' \
		| sed 's/^/memory run, ray, 2,000 archs: /' | tee -a $(SCALE)/result.txt
	$(PY) -c "import pandas as p; r = p.read_csv('$(SCALE)/memory_rss.csv'); \
		print(f'driver RSS {r.rss_mb.iloc[0]:.0f} MB after {r.scored.iloc[0]} archs -> {r.rss_mb.iloc[-1]:.0f} MB after {r.scored.iloc[-1]}: {r.rss_mb.iloc[-1] - r.rss_mb.iloc[0]:+.0f} MB (max {r.rss_mb.max():.0f})')" \
		| tee -a $(SCALE)/result.txt

# the CUDA path: gpu-marked tests, perf and throughput on one GPU -> reports/gpu (at most 8
# minutes; without a GPU one line and exit 0). On a machine whose python3 has a CUDA torch:
# python3 -m pip install --no-deps --no-build-isolation -e . && make gpu-check GPU_PY=python3
GPU_PY ?= $(PY)
gpu-check:
	$(GPU_PY) tests/gpu_check.py --out reports/gpu

chaos: $(STAMP)
	$(PY) tests/chaos.py --kills 20 --out reports/chaos

# open a report in headless chromium 1280 px wide: check that every embedded figure decodes and
# that the summary fits the first screen (800 px), and save that screen as screenshot_1280.png
# beside the report
REPORT ?= reports/correlation/report.html
CHROMIUM ?= chromium
HEADLESS = $(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--virtual-time-budget=5000 --window-size=1280,800
report-check:
	@command -v $(CHROMIUM) > /dev/null || { echo "report-check needs chromium (apt install chromium)"; exit 1; }
	@$(HEADLESS) --dump-dom "file://$(abspath $(REPORT))" 2> /dev/null \
		| grep -o 'data-images="[0-9]*" data-images-broken="[0-9]*" data-summary-fits="[a-z]*"[^>]*' \
		| tee /dev/stderr | grep -q 'data-images-broken="0" data-summary-fits="yes"' \
		&& echo "$(REPORT): every figure renders; the summary fits the first screen"
	@$(HEADLESS) --screenshot="$(abspath $(dir $(REPORT)))/screenshot_1280.png" \
		"file://$(abspath $(REPORT))" 2> /dev/null
	@echo "first screen: $(dir $(REPORT))screenshot_1280.png"

# every NB201 architecture's params/FLOPs checked against the table (about 8 min on 2 cores)
foundation-report: $(STAMP)
	$(VENV)/bin/zcbench bench --foundation-only --params-sample 15625 --out reports/foundation

lint: $(STAMP)
	$(PY) -m ruff check zcbench proxies searchers tests
	$(PY) -m ruff format --check zcbench proxies searchers tests

format: $(STAMP)
	$(PY) -m ruff format zcbench proxies searchers tests
	$(PY) -m ruff check --fix zcbench proxies searchers tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
