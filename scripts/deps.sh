#!/usr/bin/env bash
# Installs the Debian 12 packages a make target needs, when they are missing.
# Quiet when everything is present. Usage: scripts/deps.sh build|test|demo|bench|fuzz
set -euo pipefail

build=(cmake ninja-build ccache g++ pkg-config libssl-dev libzstd-dev nlohmann-json3-dev
       libcli11-dev libtag1-dev libgtest-dev libsimdjson-dev libsecp256k1-dev nettle-dev
       libsqlitecpp-dev libsqlite3-dev libboost-dev libcurl4-openssl-dev
       libtorrent-rasterbar-dev)
media=(sox libsox-fmt-mp3 jq)
case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test)  want=("${build[@]}" "${media[@]}" bats man-db groff-base curl aria2 ffmpeg wrk sqlite3 nodejs npm
               python3 python3-libtorrent systemd file time bsdutils mpv vlc-bin vlc-plugin-base chromium) ;;
  demo)  want=("${build[@]}" "${media[@]}" curl ffmpeg aria2) ;;
  fuzz)  want=("${build[@]}" clang libclang-rt-14-dev) ;;
  bench) want=("${build[@]}" "${media[@]}" openssl time nodejs npm nginx-light wrk curl aria2 sqlite3 python3 ffmpeg chromium) ;;
  *) echo "usage: $0 build|test|demo|bench|fuzz" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # Node.js may come from elsewhere than Debian (with npm inside); any will do.
  case "$p" in nodejs|npm) command -v "${p/nodejs/node}" >/dev/null && continue ;; esac
  if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
    missing+=("$p")
  fi
done
# The npm packages of the tests, each in its folder from its lock file: the
# local EVM chain of the chain tests and the compiler of its channel contract
# (ganache and solc, tests/chain) and the browser
# driver of the web player's tests (puppeteer-core, tests/web).
chain() {
  [ "${1:-build}" = test ] || return 0
  local tests entry name
  tests=$(cd "$(dirname "$0")/../tests" && pwd)
  for entry in chain:node_modules/.bin/solcjs web:node_modules/puppeteer-core/package.json; do
    name=${entry%%:*}
    [ -e "$tests/$name/${entry#*:}" ] && continue
    echo "deps: installing the npm packages of tests/$name" >&2
    (cd "$tests/$name" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  done
}

if [ ${#missing[@]} -eq 0 ]; then chain "${1:-build}"; exit 0; fi

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "deps: run as root: apt-get install ${missing[*]}" >&2; exit 1; }
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
chain "${1:-build}"
