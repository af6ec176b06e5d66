# The two commands that matter on a fresh machine (each sets itself up first):
#   make demo   run the main job on the embedded defaults (sandbox → harvest → catalogue → index → serve)
#   make test   run the whole test suite (lint, types, tests)

.PHONY: demo test lint setup bench bench-oaipmh bench-graph bench-search clean

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/dmlake --home var/demo demo $(ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

test: lint
	.venv/bin/pytest -n 2 --dist loadgroup --timeout 1800 -q $(ARGS)

bench: setup
	.venv/bin/python -m bench $(ARGS)

bench-oaipmh: setup
	.venv/bin/python -m pip install --quiet -e '.[bench]' --config-settings editable_mode=compat
	.venv/bin/python -m bench.oaipmh $(ARGS)

bench-graph: setup
	.venv/bin/python -m bench.graphstore $(ARGS)

bench-search: setup
	.venv/bin/python -m bench.search_load $(ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
