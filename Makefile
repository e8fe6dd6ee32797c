# Two commands do all setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf out/demo-data out/demo
	mkdir -p out
	$(BIN)/ipafstudy synth --bundled --out out/demo-data
	$(BIN)/ipafstudy validate out/demo-data
	$(BIN)/ipafstudy analyze out/demo-data --out out/demo
	$(BIN)/ipafstudy screen out/demo-data --out out/demo/screen
	@echo "Report: out/demo/report.docx, out/demo/report.html (tables in out/demo/tables.xlsx)"

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) out
