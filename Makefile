# Common tasks. `make test` and `make cloudsim` set up .venv on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test

.PHONY: help test browser-deps mysql-deps real-heat static tutor-envs demo cloudsim quality requirements clean

help:
	@echo "make demo          run the lab block in the workbench on 127.0.0.1:8000 against fake clouds"
	@echo "                   (ARGS=\"--port 8080\" for another port; its state is kept in var/demo)"
	@echo "make cloudsim      run the fake OpenStack cloud on 127.0.0.1:5000 (ARGS=... for more flags)"
	@echo "make test          run the whole test suite (PYTEST_ARGS=... to narrow it)"
	@echo "make real-heat     Keystone and Heat from PyPI in .real-heat/venv, for the tests on a real Heat"
	@echo "make static        refresh the terminal's committed xterm.js files after a change of package-lock.json"
	@echo "make tutor-envs    Tutor 21 and 22 with the plugin (tutor/), each in a virtualenv, for its tests"
	@echo "make quality       lint with ruff"
	@echo "make translations  extract the block's strings, update the languages' catalogs, compile them"
	@echo "make requirements  recompile requirements/*.txt from requirements/*.in"

# The block and, as a package of its own, the fake cloud (the demo and the
# tests need both; an LMS installs only the block).
$(STAMP): requirements/test.txt setup.py cloudsim/setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e cloudsim -e .
	touch $@

# The terminal page's xterm.js, from the npm registry at the versions
# package-lock.json pins. The built files are committed under
# hastexo_lab/static/vendor/xterm (with xterm.js's licence), so that a wheel,
# an sdist or a git URL installs a working terminal with no npm anywhere
# (docs/decisions/0008-xterm-files-in-git.md). `make static` refreshes them
# after a change of the pins; the test suite checks that they are the pinned
# packages' own files.
VENDOR := hastexo_lab/static/vendor/xterm
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static: $(NODE_STAMP)
	mkdir -p $(VENDOR)
	cp node_modules/@xterm/xterm/lib/xterm.js node_modules/@xterm/xterm/css/xterm.css \
		node_modules/@xterm/addon-fit/lib/addon-fit.js $(VENDOR)/
	cp node_modules/@xterm/xterm/LICENSE $(VENDOR)/LICENSE.xterm

# The Tutor plugin is tested against the current Tutor major release and the
# one before it; they cannot share a virtualenv, so each gets its own.
TUTOR_VERSIONS := 21 22
TUTOR_STAMPS := $(foreach v,$(TUTOR_VERSIONS),$(VENV)/tutor-$(v)/.installed)

tutor-envs: $(TUTOR_STAMPS)

$(VENV)/tutor-%/.installed: requirements/tutor-%.txt tutor/setup.py
	test -x $(VENV)/tutor-$*/bin/python || $(PYTHON) -m venv $(VENV)/tutor-$*
	$(VENV)/tutor-$*/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/tutor-$*.txt
	$(VENV)/tutor-$*/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e tutor
	touch $@

# Three passes: everything on the embedded defaults (SQLite, in-memory
# broker; the tests on a real Heat run here only), then every database and
# worker test again on PostgreSQL and on MySQL (MariaDB serves here; Open
# edX runs MySQL), each with Redis, where locking and concurrency are real.
# A pass whose servers are not there is skipped with a warning, except under
# CI (CI=true), where that is a failure.
SERVICES_BROKER := redis://127.0.0.1:6379/15

# The browser tests drive Debian's Chromium; install it where we can (as root).
browser-deps:
	@if ! command -v chromedriver >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium and chromium-driver for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
		else \
			echo "WARNING: chromium/chromium-driver missing; the browser tests will be skipped (failed under CI)"; \
		fi; \
	fi

# The MySQL pass uses the driver Open edX uses (mysqlclient), which compiles
# against the MariaDB/MySQL client headers: install them where we can (as
# root), as the openedx image does (libmysqlclient-dev). The demo needs none of it.
MYSQL_STAMP := $(VENV)/.installed-mysql

$(MYSQL_STAMP): requirements/mysql.txt | $(STAMP)
	@if ! command -v mariadb_config >/dev/null 2>&1 && ! command -v mysql_config >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing libmariadb-dev for the MySQL driver"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config >/dev/null 2>&1 \
			|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config); \
		fi; \
	fi
	@if $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/mysql.txt; then \
		touch $@; \
	else \
		echo "WARNING: the MySQL driver did not install (client headers missing?); the MySQL pass will be skipped (failed under CI)"; \
	fi

mysql-deps: $(MYSQL_STAMP)

# A real Keystone and Heat (requirements/real-heat.txt, every package pinned)
# in a virtualenv of their own, for tests/real_heat/: those tests
# start them on MariaDB and RabbitMQ once per run, in the first pass. An
# install that fails leaves a warning, and those tests are skipped (failed
# under CI).
REAL_HEAT_VENV := .real-heat/venv
REAL_HEAT_STAMP := $(REAL_HEAT_VENV)/.installed

$(REAL_HEAT_STAMP): requirements/real-heat.txt
	test -x $(REAL_HEAT_VENV)/bin/python || $(PYTHON) -m venv $(REAL_HEAT_VENV)
	@if $(REAL_HEAT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/real-heat.txt; then \
		touch $@; \
	else \
		echo "WARNING: Keystone and Heat did not install; the real-Heat tests will be skipped (failed under CI)"; \
	fi

real-heat: $(REAL_HEAT_STAMP)

test: $(STAMP) $(NODE_STAMP) $(TUTOR_STAMPS) browser-deps mysql-deps real-heat
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@for db in postgresql mysql; do \
		if $(BIN)/python -m tests.services $$db redis; then \
			echo "== the same database and worker tests on $$db + Redis =="; \
			HASTEXO_LAB_TEST_DB=$$db HASTEXO_LAB_TEST_BROKER=$(SERVICES_BROKER) \
				$(BIN)/python -m pytest -m "django_db and not real_heat" $(PYTEST_ARGS) || exit 1; \
		elif [ "$${CI:-}" = "true" ]; then \
			echo "$$db and Redis are required under CI"; exit 1; \
		else \
			echo "WARNING: skipped the $$db + Redis pass (start the servers to run it)"; \
		fi; \
	done

demo: $(STAMP)
	$(BIN)/python -m hastexo_lab demo $(ARGS)

cloudsim: $(STAMP)
	$(BIN)/python -m hastexo_cloudsim $(ARGS)

quality: $(STAMP)
	$(BIN)/ruff check hastexo_lab cloudsim tests bench tutor

# Translations (docs/settings.md): the English source catalogs extracted from
# the code, the catalogs of each language that comes with the block (LANGUAGES)
# brought up to date with them (a new language starts empty), and all compiled,
# with Babel. Strings the code no longer has are dropped; new ones wait, empty,
# for their translation.
.PHONY: translations
LOCALE := hastexo_lab/locale
LANGUAGES := de
EXTRACT := $(BIN)/pybabel -q extract --add-location=file --sort-output --project=hastexo-lab \
	--copyright-holder="the hastexo-lab authors" --msgid-bugs-address=https://github.com/hastexo/hastexo-lab/issues \
	--add-comments=Translators:

translations: $(STAMP)
	$(EXTRACT) -F $(LOCALE)/babel-django.cfg -o $(LOCALE)/en/LC_MESSAGES/django.po hastexo_lab
	$(EXTRACT) -F $(LOCALE)/babel-djangojs.cfg -o $(LOCALE)/en/LC_MESSAGES/djangojs.po hastexo_lab/static
	for lang in $(LANGUAGES); do for domain in django djangojs; do \
		$(BIN)/pybabel -q update --init-missing --no-fuzzy-matching --ignore-obsolete -D $$domain -l $$lang \
			-i $(LOCALE)/en/LC_MESSAGES/$$domain.po -d $(LOCALE) || exit 1; \
		$(BIN)/pybabel -q compile -D $$domain -l $$lang -d $(LOCALE) || exit 1; \
	done; done

requirements: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip-tools
	cd requirements && for f in base test dev mysql tutor-21 tutor-22 real-heat; do \
		../$(BIN)/pip-compile --quiet --allow-unsafe --strip-extras --no-emit-find-links \
			--no-emit-index-url --output-file $$f.txt $$f.in; done

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts *.egg-info var node_modules .real-heat
