# Two commands from a fresh clone: `make demo` and `make test`.
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SAMPLE ?= sample_dags/ml_classic_operators.py

.PHONY: demo test sync uv lint bench

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

# Bytecode for our own packages too (uv compiles the installed ones, pyproject's compile-bytecode):
# this environment sets PYTHONDONTWRITEBYTECODE, so every command would compile them again.
sync: uv
	@$(UV) sync --frozen --quiet
	@$(UV) run --frozen python -m compileall -q bridge translators airflow_plugins

DEMO_OUT := out/$(basename $(notdir $(SAMPLE)))

demo: sync
	$(UV) run --frozen bridge graph $(SAMPLE)
	$(UV) run --frozen bridge translate $(SAMPLE) -o out
	$(UV) run --frozen bridge run $(DEMO_OUT)
	$(UV) run --frozen bridge compare $(SAMPLE) -o out --reuse
	@echo
	@echo "Where to look:"
	@echo "  what mapped and how well:   $(DEMO_OUT)/REPORT.md"
	@echo "  the local pipeline run:     $$(ls -t $(DEMO_OUT)/runs/*/run.json | head -1)"
	@echo "  Airflow vs pipeline report: $$(ls -t $(DEMO_OUT)/compare/*/compare.html | head -1)"

test: sync
	$(UV) run --frozen ruff check bridge translators airflow_plugins tests benchmarks sample_dags
	$(UV) run --frozen ruff format --check bridge translators airflow_plugins tests benchmarks sample_dags
	$(UV) run --frozen lint-imports --no-cache
	$(UV) run --frozen pytest -n 2

lint: sync
	$(UV) run --frozen ruff check bridge translators airflow_plugins tests benchmarks sample_dags
	$(UV) run --frozen ruff format --check bridge translators airflow_plugins tests benchmarks sample_dags
	$(UV) run --frozen lint-imports --no-cache

bench: sync
	$(UV) run --frozen python benchmarks/bench_graph.py
	$(UV) run --frozen python benchmarks/bench_translate.py
	$(UV) run --frozen python benchmarks/bench_scale_files.py
	$(UV) run --frozen python benchmarks/bench_run.py
	$(UV) run --frozen python benchmarks/bench_provider.py
	$(UV) run --frozen python benchmarks/bench_coverage.py
	$(UV) run --frozen python benchmarks/bench_emitted_code.py
