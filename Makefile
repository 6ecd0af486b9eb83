# Pretext: the two commands a user needs.
#   make run    install missing Debian packages, build, start the workbench
#   make test   the same set-up, then the whole test suite
#
# Other targets: build, install, asan (sanitizer build + suite), bench, clean.

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan

# Debian bookworm packages the build, the tests and the app need.
DEBIAN_PACKAGES = \
	gcc make pkg-config meson ninja-build python3 \
	libglib2.0-dev libglib2.0-dev-bin libgtk-4-dev libgdk-pixbuf-2.0-dev \
	libopenblas-dev libjson-glib-dev \
	gettext desktop-file-utils appstream \
	xvfb xauth dataset-fashion-mnist

# Only `make bench` needs these: GNU time for peak RSS and PyTorch for the
# twin it compares against.
BENCH_PACKAGES = time python3-torch

# CI builds treat warnings as errors.
ifeq ($(CI),true)
MESON_EXTRA = -Dwerror=true
endif

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build deps install asan bench clean

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BUILD_DIR)/build.ninja: | deps
	meson setup $(BUILD_DIR) --buildtype=release $(MESON_EXTRA)

build: deps $(BUILD_DIR)/build.ninja
	meson compile -C $(BUILD_DIR)

run: build
	GSETTINGS_SCHEMA_DIR=$(BUILD_DIR)/resources ./$(BUILD_DIR)/app/pretext

test: build
	@rm -f $(BUILD_DIR)/meson-logs/testlog.json; \
	xvfb-run -a -s "-screen 0 1400x900x24" \
	  meson test -C $(BUILD_DIR) --print-errorlogs --num-processes 2; \
	status=$$?; \
	python3 tests/summarize.py $(BUILD_DIR)/meson-logs/testlog.json || status=1; \
	exit $$status

install: build
	meson install -C $(BUILD_DIR)

asan: deps
	@[ -f $(ASAN_DIR)/build.ninja ] || meson setup $(ASAN_DIR) --buildtype=debugoptimized \
	  -Db_sanitize=address,undefined -Db_lundef=false
	meson compile -C $(ASAN_DIR)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	xvfb-run -a -s "-screen 0 1400x900x24" \
	  meson test -C $(ASAN_DIR) --print-errorlogs --num-processes 2 --timeout-multiplier 4; \
	status=$$?; python3 tests/summarize.py $(ASAN_DIR)/meson-logs/testlog.json || status=1; exit $$status

bench:
	$(MAKE) build EXTRA_PACKAGES="$(BENCH_PACKAGES)"
	./tests/bench/run-bench.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
