# One target per test layer; `make test` runs them all (what CI runs, through .ci/run).
PYTEST ?= python -m pytest

.PHONY: install lint typecheck test unit app e2e postgres reliability audit ci

install:            ## the package with every extra a developer needs
	python -m pip install -e ".[test,dev,postgres,scale,sso]"

lint:               ## ruff, ruff-format, codespell and mypy, as the pre-commit hooks run them
	pre-commit run --all-files

typecheck:          ## mypy strict on core/
	mypy

unit:               ## the library: data, engine, suggest, app services, store (no Streamlit, no browser)
	$(PYTEST) tests/data tests/engine tests/suggest tests/app tests/store

app:                ## every page through Streamlit's AppTest (no browser)
	$(PYTEST) tests/dashboard

e2e:                ## the running app in headless Chromium (apt-get install -y chromium)
	$(PYTEST) tests/e2e

postgres:           ## the store and AppTest suites on SQLite and on a throwaway PostgreSQL cluster
	bash -c 'source .ci/postgres.sh && trap pg_stop EXIT && $(PYTEST) tests/store tests/dashboard'

reliability:        ## concurrency, kill and fault figures (-s prints them), SQLite and PostgreSQL
	bash -c 'source .ci/postgres.sh && trap pg_stop EXIT && $(PYTEST) -m reliability -s'

audit:              ## known vulnerabilities in the installed packages (pip-audit)
	python .ci/audit.py

test:               ## everything (the README's test command)
	$(PYTEST)

ci:                 ## what CI runs on a clean clone
	bash .ci/run
