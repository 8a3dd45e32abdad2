#!/usr/bin/env bats
# scripts/check-layers on a copy of the tree: it passes on the tree as it is,
# and names each kind of violation it exists to catch.

bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_TMPDIR"
  mkdir tree
  cp -r "$DIGM_SRC/lib" "$DIGM_SRC/tools" "$DIGM_SRC/scripts" tree/
}

check() { python3 tree/scripts/check-layers tree; }

@test "the tree as it is holds its shape" {
  run -0 check
  [ -z "$output" ]
}

@test "a lower layer including a higher one is named, with what it may include" {
  sed -i '1a #include "digm/seed_api.h"' tree/lib/src/base/hex.cc
  run -1 check
  [[ "$output" == *'lib/src/base/hex.cc: base/ includes "digm/seed_api.h" of node/'* ]]
}

@test "siblings of one rank may not include each other" {
  sed -i '1a #include "digm/fetcher.h"' tree/lib/src/audit/auditor.cc
  run -1 check
  [[ "$output" == *'audit/ includes "digm/fetcher.h" of fetch/'* ]]
}

@test "the library printing, a tool printing around diag, and a long main are named" {
  printf 'void Oops() { std::printf("x"); }\n' >> tree/lib/src/format/merkle.cc
  printf 'void Oops() { std::cout << 1; }\n' >> tree/tools/digm-merkle/main.cc
  for i in $(seq 1 40); do echo "// $i" >> tree/tools/digm-merkle/main.cc; done
  run -1 check
  [[ "$output" == *"lib/src/format/merkle.cc:"*"the library never prints"* ]]
  [[ "$output" == *"tools/digm-merkle/main.cc:"*"a tool prints through diag"* ]]
  [[ "$output" == *"tools/digm-merkle/main.cc: 16"*" lines (at most 150"* ]]
}

@test "a header with no source and a file outside the layer folders are named" {
  touch tree/lib/include/digm/orphan.h tree/lib/src/stray.cc
  run -1 check
  [[ "$output" == *"lib/include/digm/orphan.h: no lib/src/*/orphan.cc, so no layer"* ]]
  [[ "$output" == *"lib/src/stray.cc: every source lives in a layer folder"* ]]
}
