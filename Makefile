# The two commands a new user needs: `make demo` and `make test`. Both set up first.
UV := $(shell sh scripts/ensure-uv.sh)
PYTEST_ARGS ?=

.PHONY: setup demo test bench lint clean

setup:
	$(UV) sync --locked

demo: setup
	$(UV) run openbureau demo

test: setup
	$(UV) run pytest $(PYTEST_ARGS)

bench: setup
	$(UV) run python bench/demo_timing.py --runs 3
	$(UV) run python bench/run.py --persons 1000000
	$(UV) run python bench/bench_identity.py --persons 20000 --scale-persons 1000000
	$(UV) run python bench/bench_compiled.py --rows 1000000 --runs 3
	$(UV) run python bench/bench_reports.py --write
	$(UV) run python bench/bench_load.py --soak-seconds 300 --write
	$(UV) run python bench/bench_load.py --soak-seconds 300 --write --section load-inquiries \
		--method POST --path /v1/inquiries \
		--body '{"subject_id": "{subject}", "purpose": "credit_application"}'

lint: setup
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench

clean:
	rm -rf .openbureau .pytest_cache .ruff_cache bench/out
