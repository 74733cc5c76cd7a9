# SPDX-License-Identifier: Apache-2.0
# Convenience front end. The real build is CMake; these targets are the README's
# commands: `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
RELEASE_BUILD ?= build-release
JOBS ?= $(shell nproc)

.PHONY: all build asan release test test-compat unit demo bench bench-report fuzz clean cluster-up cluster-down

all: build

build:
	@cmake -S . -B $(BUILD) -DKX_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN_BUILD) -DKX_WERROR=ON -DKX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# As a packager builds: Release, the default options (no -Werror), with the unit tests.
release:
	@cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_BUILD) -j $(JOBS)

# Everything: deps, both builds, unit tests, the real cluster, bats suites
# (plain and under sanitizers), brief fuzz runs. Brings the cluster down even
# when tests fail.
test:
	@tests/run-all

# The streaming suites against an older kube-apiserver (v1.30), where the
# transport fallbacks happen for real; reported, not part of `make test`.
test-compat: build
	@tests/compat-apiserver

unit: build
	@cd $(BUILD) && ctest --output-on-failure

demo:
	@tools/demo

bench:
	@bench/run

# docs/benchmarks.md and its charts, from one full run
bench-report:
	@bench/report

fuzz:
	@tests/fuzz/run $(FUZZ_SECONDS)

cluster-up:
	@tests/cluster/up

cluster-down:
	@tests/cluster/down

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(RELEASE_BUILD) build-fuzz
