# digm: make | make test | make demo | make bench | make install PREFIX=/usr/local
BUILD  ?= build
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all build deps test demo bench install clean

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
	@cd $(BUILD) && ctest --output-on-failure -j$$(nproc) --timeout 600

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
	@bench/audit.sh $(BUILD)/bin
	@bench/pay.sh $(BUILD)/bin

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX) --strip

clean:
	rm -rf $(BUILD)
