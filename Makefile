# Two commands: `make run` and `make test`. Everything else is set up by them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test install vendor demo bench screenshots cluster clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

static/vendor/leaflet/leaflet.js: package.json package-lock.json scripts/vendor.sh
	./scripts/vendor.sh

vendor: static/vendor/leaflet/leaflet.js

demo: install
	$(BIN)/python cli.py init-db
	$(BIN)/python cli.py load-demo
	$(BIN)/python -c "import geo.cluster as c; c.dbscan([0.0], [0.0], eps=1, min_samples=1)"  # compile the clustering kernel once

run: install vendor demo
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

test: install vendor
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy geo services
	$(BIN)/python -m pytest

# the README's pictures: the documents rendered to PNG, and the app's pages as the browser tests see them
# (the tests put their pictures in the ignored tests/_artifacts/pictures otherwise)
screenshots: install vendor
	$(BIN)/python scripts/document_pictures.py
	BLACKSPOT_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser/test_app_in_browser.py tests/browser/test_journey.py

# N app processes behind nginx on one PostgreSQL/PostGIS store (README: "Running for a whole province")
N ?= 2
cluster: install vendor
	$(BIN)/python scripts/cluster.py --processes $(N)

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) static/vendor node_modules data/*.sqlite*
