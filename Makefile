# digm: make | make test [SANITIZE=1] | make demo | make bench | make fuzz | make install PREFIX=/usr/local
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
# make test SANITIZE=1: a build of its own under ASan and UBSan.
ifeq ($(SANITIZE),1)
BUILD ?= build-sanitize
CMAKE_FLAGS += -DDIGM_SANITIZE=ON
else
BUILD ?= build
endif

.PHONY: all build deps test demo bench fuzz install clean

all: build

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache $(CMAKE_FLAGS) >/dev/null

build:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	@cmake --build $(BUILD)

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 DIGM_SANITIZED=$(filter 1,$(SANITIZE)) \
	  ctest --output-on-failure -j$$(nproc) --timeout $(if $(SANITIZE),1800,600)

# libFuzzer targets with clang, ASan and UBSan, FUZZ_SECONDS each (default 60).
fuzz:
	@scripts/deps.sh fuzz
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DDIGM_FUZZ=ON -DDIGM_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-fuzz --target fuzz_manifest fuzz_proof fuzz_http fuzz_signed fuzz_keywrap
	@scripts/fuzz.sh build-fuzz/bin $(FUZZ_SECONDS)

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory build
	@scripts/demo.sh $(BUILD)/bin

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	@bench/chunk.sh $(BUILD)/bin
	@bench/merkle.sh $(BUILD)/bin
	@bench/seed.sh $(BUILD)/bin
	@bench/fetch.sh $(BUILD)/bin
	@bench/dht.sh $(BUILD)/bin
	@bench/bt.sh $(BUILD)/bin
	@bench/audit.sh $(BUILD)/bin
	@bench/pay.sh $(BUILD)/bin
	@bench/live.sh $(BUILD)/bin
	@bench/web.sh $(BUILD)/bin

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX) --strip

clean:
	rm -rf $(BUILD)
