# Thin wrapper over CMake. `make run` and `make test` install missing Debian packages first.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: deps build run install test test-asan fuzz bench format tidy clean

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The demo: sluice wraps a small log-emitting program, parses its mixed JSON/logfmt/plain
# output, writes events to ./data/demo.jsonl and prints them readably.
# It needs the `sluice` binary alone: the tests, benchmarks and emulators are left unbuilt.
run: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target sluice
	@mkdir -p data
	@rm -f data/demo.jsonl
	$(BUILD)/sluice run -c config/demo.yaml -- sh config/demo-app.sh
	@echo "--- $$(wc -l < data/demo.jsonl) events written to data/demo.jsonl"

# The binary, its manual page and the example configs under PREFIX (bin/, share/man/man1/,
# share/sluice/examples/); DESTDIR stages them for a package.
PREFIX ?= /usr/local
install: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target sluice sluice_manpage
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# The tests mostly wait (on processes, deadlines, peers: the whole suite uses about a third of one
# core), so TEST_JOBS run side by side; the few that measure the machine are RUN_SERIAL
# (tests/CMakeLists.txt). TEST_JOBS=1 runs them one by one.
TEST_JOBS ?= 3
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) --timeout 600

# Unit and end-to-end tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_BENCH=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS) --target sluice_unit_tests sluice
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(TEST_JOBS) --timeout 600 -L 'unit|e2e'

# libFuzzer targets, each run briefly on the committed corpus (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 20
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target sluice_fuzzers
	./scripts/run-fuzzers.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

bench: build
	$(BUILD)/sluice_bench --benchmark_min_time=0.5
	./bench/e2e.sh $(BUILD)/sluice
	./bench/tail.sh $(BUILD)/sluice
	./bench/reload.sh $(BUILD)/sluice
	./bench/kafka.sh $(BUILD)/sluice
	./bench/kafka_source.sh $(BUILD)/sluice
	./bench/elasticsearch.sh $(BUILD)/sluice
	./bench/kubernetes.sh $(BUILD)/sluice
	./bench/soak.sh $(BUILD)/sluice

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

# The compile database is GCC's: clang-tidy must ignore GCC-only warning flags.
tidy: build
	git ls-files 'src/*.cpp' | xargs clang-tidy -p $(BUILD) --quiet --extra-arg=-Wno-unknown-warning-option

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
