#!/usr/bin/env bats
# Man pages: every option --help prints is documented, and each page renders
# without warnings.

load helpers

# Prints the long options a help text lists, one per line.
options_in() {
  grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# Prints the man page rendered as plain text.
rendered() {
  MANWIDTH=100 man -l "$1" 2>/dev/null | col -b
}

check_documented() {
  local page=$1; shift
  local text missing=()
  text=$(rendered "$page")
  while read -r opt; do
    [ -n "$opt" ] || continue
    grep -qF -- "$opt" <<<"$text" || missing+=("$opt")
  done < <("$@" --help | options_in)
  [ ${#missing[@]} -eq 0 ] || { echo "$page lacks: ${missing[*]}"; return 1; }
}

@test "every digm-chunk option is in digm-chunk(1)" {
  check_documented "$DIGM_SRC/man/digm-chunk.1" digm-chunk
}

@test "every digm-merkle subcommand and option is in digm-merkle(1)" {
  check_documented "$DIGM_SRC/man/digm-merkle.1" digm-merkle
  for sub in seal root prove verify consistency verify-consistency; do
    check_documented "$DIGM_SRC/man/digm-merkle.1" digm-merkle "$sub"
    grep -q "^ *digm-merkle $sub\b\|^ *$sub\b" <<<"$(rendered "$DIGM_SRC/man/digm-merkle.1")"
  done
}

@test "every digm-seed subcommand and option is in digm-seed(1)" {
  check_documented "$DIGM_SRC/man/digm-seed.1" digm-seed
  for sub in init serve add publish ls rm fsck gc peers torrent vouchers; do
    check_documented "$DIGM_SRC/man/digm-seed.1" digm-seed "$sub"
    grep -q "digm-seed $sub\b" <<<"$(rendered "$DIGM_SRC/man/digm-seed.1")"
  done
}

@test "every digm-fetch option is in digm-fetch(1)" {
  check_documented "$DIGM_SRC/man/digm-fetch.1" digm-fetch
}

@test "every digm-audit subcommand and option is in digm-audit(1)" {
  check_documented "$DIGM_SRC/man/digm-audit.1" digm-audit
  for sub in prepare run index; do
    check_documented "$DIGM_SRC/man/digm-audit.1" digm-audit "$sub"
    grep -q "digm-audit $sub\b" <<<"$(rendered "$DIGM_SRC/man/digm-audit.1")"
  done
}

@test "every digm-live subcommand and option is in digm-live(1)" {
  check_documented "$DIGM_SRC/man/digm-live.1" digm-live
  for sub in publish ls; do
    check_documented "$DIGM_SRC/man/digm-live.1" digm-live "$sub"
    grep -q "digm-live $sub\b" <<<"$(rendered "$DIGM_SRC/man/digm-live.1")"
  done
}

@test "every digm-pay command and option is in digm-pay(1)" {
  check_documented "$DIGM_SRC/man/digm-pay.1" digm-pay
  for sub in deposit transfer balance history check settle purchase grant reward stake slash node-rewards channel; do
    check_documented "$DIGM_SRC/man/digm-pay.1" digm-pay "$sub"
  done
  for sub in new show identity; do check_documented "$DIGM_SRC/man/digm-pay.1" digm-pay wallet "$sub"; done
  for sub in open redeem refund show deploy; do check_documented "$DIGM_SRC/man/digm-pay.1" digm-pay channel "$sub"; done
}

@test "the check catches an undocumented option" {
  fake() { echo "  --chunk-size N   a documented one"; echo "  --not-in-page   an undocumented one"; }
  run check_documented "$DIGM_SRC/man/digm-chunk.1" fake
  [ "$status" -ne 0 ]
  [[ "$output" == *"--not-in-page"* ]]
}

@test "every page renders without warnings and has the house sections" {
  for page in "$DIGM_SRC"/man/*.[17]; do
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || { echo "$page: $warnings"; return 1; }
    text=$(rendered "$page")
    for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" "SEE ALSO"; do
      grep -q "^$section" <<<"$text" || { echo "$page lacks $section"; return 1; }
    done
  done
}

@test "each tool has a man page and each page's exit codes match SPEC §1" {
  for tool in "$DIGM_SRC"/tools/digm-*/main.cc; do
    name=$(basename "$(dirname "$tool")")
    [ -f "$DIGM_SRC/man/$name.1" ] || { echo "no man page for $name"; return 1; }
  done
  text=$(rendered "$DIGM_SRC/man/digm.7")
  for code in 0 1 2 3 4 5 130; do
    grep -qE "^ +$code +[a-z]" <<<"$text" || { echo "digm(7) lacks exit code $code"; return 1; }
  done
}
