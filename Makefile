# Outpost: the commands people run. `make run` opens the app; `make test` runs every test.
# Both install what a fresh Debian 12 / Ubuntu 24.04 machine lacks first (scripts/setup.sh).

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
DESKTOP_BIN := $(CARGO_TARGET_DIR)/debug/outpost-desktop
TIMED := scripts/timed.sh
# Crates with benchmarks (the desktop shell has none; building it in release would take minutes).
BENCH_PACKAGES := -p outpost-crypto -p outpost-store -p outpost-call -p outpost-tests


.PHONY: demo run test bench setup ui standalone fmt-check clippy test-rust test-devices test-ui test-browser test-desktop bindings screenshot fuzz supply-chain deny sbom package test-package

## Install system packages, tauri-driver and UI dependencies (idempotent).
setup:
	@$(TIMED) setup scripts/setup.sh

## Build the UI and open the desktop app (under Xvfb when there is no display).
run: setup ui
	cargo build -p outpost-desktop
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "No display: running under Xvfb on :99. Screenshot from another shell:"; \
	  echo "  XAUTHORITY=/tmp/outpost-xauth DISPLAY=:99 import -window root outpost.png"; \
	  xvfb-run -n 99 -f /tmp/outpost-xauth -s "-screen 0 1280x800x24" $(DESKTOP_BIN); \
	else $(DESKTOP_BIN); fi

## A local relay and two app windows (clinic nurse, remote physician) in one workspace with
## demo patients: watch sync happen on one machine.
demo: setup ui
	cargo build -p outpost-desktop -p outpost-cli
	scripts/demo.sh

## Every check and every test layer, each stage timed.
test: setup standalone fmt-check supply-chain ui clippy test-rust test-devices test-ui test-browser test-desktop test-package fuzz
	@echo "make test: all stages passed"

ui:
	@$(TIMED) ui-build bash -c 'cd ui && npm run build --silent'

## The supply chain: licences, bans and sources of every crate (deny.toml), the bill of
## materials, and npm's advisories for what the UI ships where the registry answers them.
supply-chain: deny sbom
	@$(TIMED) npm-audit scripts/npm-audit.sh

deny:
	@$(TIMED) deny cargo deny --locked check licenses bans sources

## A CycloneDX bill of materials of what the app and the CLI ship, checked for completeness.
SBOM := $(CARGO_TARGET_DIR)/sbom/outpost.cdx.json
sbom:
	@$(TIMED) sbom scripts/sbom.py --check $(SBOM)

## The repository stands alone: nothing refers to a folder beside it.
standalone:
	@$(TIMED) standalone scripts/check-standalone.sh

fmt-check:
	@$(TIMED) fmt cargo fmt --all -- --check

clippy: ui
	@$(TIMED) clippy cargo clippy --workspace --all-targets --features outpost-tests/desktop-e2e --locked -- -D warnings

## Rust unit, integration and IPC tests (includes the stale-bindings check).
test-rust: ui
	@$(TIMED) rust-tests cargo test --workspace --locked

## The camera and microphone build (`devices` feature): lints, and the device tests (on a
## machine without devices: the clear errors).
test-devices:
	@$(TIMED) devices-clippy cargo clippy -p outpost-cli -p outpost-call --features outpost-cli/devices,outpost-call/devices --all-targets --locked -- -D warnings
	@$(TIMED) devices-tests cargo test -p outpost-call --features devices --lib --locked devices

## UI typecheck and Vitest unit tests.
test-ui:
	@$(TIMED) ui-typecheck bash -c 'cd ui && npm run check --silent'
	@$(TIMED) ui-unit bash -c 'cd ui && npm test --silent'

## Playwright in Debian's Chromium against the built UI with Tauri IPC mocked.
test-browser: ui
	@$(TIMED) ui-browser bash -c 'cd ui && npm run test:browser --silent'

## WebDriver against the real desktop binary under Xvfb.
test-desktop: ui
	@$(TIMED) desktop-build cargo build -p outpost-desktop --locked
	@$(TIMED) desktop-e2e env OUTPOST_DESKTOP_BIN=$(DESKTOP_BIN) \
	  xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p outpost-tests --features desktop-e2e --test desktop --locked

## The installable app (release): a .deb with the desktop app, the `outpost` command, the icon
## and a desktop entry, and its CycloneDX bill of materials, in $(CARGO_TARGET_DIR)/release/bundle/.
package: setup ui
	@$(TIMED) package scripts/package.sh

## The .deb (of the debug build) installed with dpkg, checked, started under Xvfb and removed.
test-package: ui
	@$(TIMED) package-test scripts/test-package.sh

## Each cargo-fuzz target for FUZZ_SECONDS (corpus kept in fuzz/corpus between runs; the
## tracked examples in fuzz/seeds/<target> start it from real files).
FUZZ_SECONDS ?= 20
fuzz:
	@cd fuzz && for t in $$(cargo fuzz list); do \
	  mkdir -p corpus/$$t; seeds=; [ -d seeds/$$t ] && seeds=seeds/$$t; \
	  ../$(TIMED) fuzz-$$t cargo fuzz run --sanitizer none $$t corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done

## Benchmarks; each prints its baseline from the same run.
bench:
	@$(TIMED) bench cargo bench --locked $(BENCH_PACKAGES)

## Regenerate ui/src/lib/bindings.ts from the Rust command signatures.
bindings:
	OUTPOST_UPDATE_BINDINGS=1 cargo test -p outpost-desktop --test ipc committed_typescript_bindings_are_fresh

## Retake the README screenshot of the real window.
screenshot: setup ui
	cargo build -p outpost-desktop
	OUTPOST_SCREENSHOT=$(CURDIR)/docs/screenshot.png OUTPOST_DESKTOP_BIN=$(DESKTOP_BIN) \
	  xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p outpost-tests --features desktop-e2e --test desktop
