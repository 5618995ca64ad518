# zcbench: `make bench` runs the main job, `make test` the tests. Both create .venv if missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# A CPU build of torch from the local wheel cache; override for CUDA, e.g. TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: study chaos report-check determinism venv test test-slow test-all bench perf perf-sharing perf-workers perf-memory foundation-report lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

test-all: $(STAMP)
	$(PY) -m pytest -m "not gpu"

bench: $(STAMP)
	$(VENV)/bin/zcbench bench --out reports/bench

# a space without a benchmark, end to end (about 25 minutes on 2 cores): the example plug-in
# space resnet-macro, 24 architectures scored with every proxy and trained briefly for their
# ground truth, then the report "which proxy to trust on this space"
study: $(STAMP)
	$(VENV)/bin/zcbench study --space resnet-macro --sample 24 --out reports/study

# fused vs unfused seconds/arch, GFLOP/s against a large matmul (a few minutes on 2 cores)
# (perf-sharing: the same without grasp, zen and zico, whose passes cannot be shared)
SHARING = epe_nas,fisher,flops,grad_norm,jacob_cov,l2_norm,meco,naswot,params,plain,snip,swap,synaptic_diversity,synflow
perf: $(STAMP)
	$(VENV)/bin/zcbench perf --archs 20 --out reports/perf

perf-sharing: $(STAMP)
	$(VENV)/bin/zcbench perf --archs 20 --proxies $(SHARING) --out reports/perf-sharing

# zcbench score's throughput on this machine: one process (torch's threads) vs --workers 2
# (one thread each), the same 20 architectures and every proxy; then how their values compare
PW := reports/perf-workers
perf-workers: $(STAMP)
	rm -f $(PW)/workers*.db* && mkdir -p $(PW)
	for w in 1 2; do $(VENV)/bin/zcbench -q score --sample 20 --sample-seed 2 --proxies all \
		--workers $$w --store $(PW)/workers$$w.db | grep '^scored' | sed "s/^/--workers $$w: /" \
		|| exit 1; done | tee $(PW)/result.txt
	$(VENV)/bin/zcbench diff $(PW)/workers1.db $(PW)/workers2.db | tee -a $(PW)/result.txt

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
chaos: $(STAMP)
	$(PY) tests/chaos.py --kills 20 --out reports/chaos

# open a report in headless chromium and check that every embedded figure decodes
REPORT ?= reports/correlation/report.html
report-check:
	@command -v chromium > /dev/null || { echo "report-check needs chromium (apt install chromium)"; exit 1; }
	@chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --dump-dom \
		"file://$(abspath $(REPORT))" 2> /dev/null | grep -o 'data-images="[0-9]*" data-images-broken="[0-9]*"' \
		| tee /dev/stderr | grep -q 'data-images-broken="0"' && echo "$(REPORT): every figure renders"

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
