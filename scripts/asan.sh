#!/usr/bin/env bash
# npm run test:asan — the native addon under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# 1. Builds native/*.cc with -fsanitize=address,undefined -fno-omit-frame-pointer -g -O1 in a
#    separate directory (node_modules/.cache/nsq-ts-asan, or $NSQ_ASAN_DIR): binding.gyp,
#    native/ and scripts/ (binding.gyp runs scripts/native-hash.mjs) are copied there and
#    node-gyp (npm's own copy) builds them, so build/Release and prebuilds/ of the normal tests
#    are never touched. The sanitizer flags come after binding.gyp's -O3, so -O1 wins.
# 2. Runs the differential tests and the conformance suites (test/differential/*.test.ts;
#    conformance-raw.test.ts mounts every conformance suite on the raw addon) against THAT build:
#    NSQ_TEST_ADDON names the .node file and test/differential/asan-addon.ts loads it instead of
#    the normal build. Then a short differential fuzz (ASAN_FUZZ_SECONDS, default 60; 0 skips).
#
# How the runtime gets into node: node itself is not instrumented, and loading an ASan-linked
# addon into it fails with "ASan runtime does not come first in initial library list". With
# gcc 12 on Debian 12 (these machines), LD_PRELOAD of gcc's shared runtime
# (`gcc -print-file-name=libasan.so`) into node works: ASan then intercepts node's malloc too, so
# heap errors in the addon are caught on buffers node allocated. libubsan comes in as a normal
# dependency of the addon. ASAN_OPTIONS=detect_leaks=0 because node leaks by design at exit;
# UBSAN_OPTIONS=halt_on_error=1 so undefined behaviour aborts the test like an ASan error does.
# (Had LD_PRELOAD not worked, the fallback would be linking the addon with -static-libasan.)
# Any "ERROR: AddressSanitizer" / "runtime error:" line in the output fails the run too, even if
# a test swallowed the abort.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${NSQ_ASAN_DIR:-$ROOT/node_modules/.cache/nsq-ts-asan}
FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1"
FUZZ_SECONDS=${ASAN_FUZZ_SECONDS:-60}

# npm sets npm_config_node_gyp to its bundled node-gyp for scripts; outside npm, find that copy.
NODE_GYP=${npm_config_node_gyp:-$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js}
if [ ! -f "$NODE_GYP" ]; then
  if command -v node-gyp >/dev/null; then NODE_GYP=$(readlink -f "$(command -v node-gyp)"); else echo "asan: node-gyp not found" >&2; exit 1; fi
fi
# Node's headers: npm's nodedir setting (this machine's .npmrc says /usr), else node's own prefix
# when it ships them, else node-gyp's download cache.
NODEDIR=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}
if [ -z "$NODEDIR" ] || [ "$NODEDIR" = undefined ] || [ "$NODEDIR" = null ]; then
  NODEDIR=""
  prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [ -f "$prefix/include/node/node_api.h" ]; then NODEDIR=$prefix; fi
fi
GYP_ARGS=()
if [ -n "$NODEDIR" ]; then GYP_ARGS+=("--nodedir=$NODEDIR"); fi
LIBASAN=$(gcc -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ] || [ "$LIBASAN" = libasan.so ]; then
  echo "asan: gcc's libasan.so not found (apt-get install gcc)" >&2
  exit 1
fi

echo "asan: building the sanitizer addon in $OUT"
rm -rf "$OUT"
mkdir -p "$OUT"
cp binding.gyp "$OUT/"
cp -r native "$OUT/"
cp -r scripts "$OUT/"
ln -s "$ROOT/node_modules" "$OUT/node_modules"
started=$(date +%s)
if ! (cd "$OUT" && CC=gcc CXX=g++ CFLAGS="$FLAGS" CXXFLAGS="$FLAGS" LDFLAGS="-fsanitize=address,undefined" \
      node "$NODE_GYP" rebuild "${GYP_ARGS[@]}" >"$OUT/build.log" 2>&1); then
  tail -40 "$OUT/build.log"
  echo "asan: build failed (log: $OUT/build.log)" >&2
  exit 1
fi
ADDON="$OUT/build/Release/nsq_native.node"
for lib in libasan libubsan; do
  # grep reads all of ldd's output: with -q it may exit first, and pipefail turns the SIGPIPE into a failure.
  if ! ldd "$ADDON" | grep "$lib" >/dev/null; then echo "asan: $ADDON is not linked with $lib" >&2; exit 1; fi
done
echo "asan: built $ADDON in $(( $(date +%s) - started )) s ($(cat "$OUT"/build/Release/.deps/Release/obj.target/nsq_native/native/*.o.d | grep -c "fsanitize=address,undefined") objects with -fsanitize=address,undefined)"

export LD_PRELOAD="$LIBASAN"
export ASAN_OPTIONS=detect_leaks=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export NSQ_TEST_ADDON="$ADDON"
export NSQ_NATIVE=1
LOG="$OUT/test.log"
: >"$LOG"

status=0
echo "asan: differential + conformance suites against the sanitizer build"
# TEST_VERBOSE keeps every file's output in the log (sanitizer reports, open findings); the
# console gets the per-file lines, and the output of failing files.
TEST_VERBOSE=1 node scripts/test.mjs test/differential 2>&1 | tee -a "$LOG" | grep -v '^    ' || true
if ! grep -Eq '^[0-9]+ passed, 0 failed$' "$LOG"; then
  status=1
  grep -A60 '^FAIL' "$LOG" | head -200 || true
fi

if [ "$FUZZ_SECONDS" != 0 ]; then
  echo "asan: differential fuzz for $FUZZ_SECONDS s against the sanitizer build"
  if ! node --import tsx test/fuzz/run.ts --seconds "$FUZZ_SECONDS" --cases 100000000 2>&1 | tee -a "$LOG"; then status=1; fi
fi

# Reports of the pinned reproducers (test/differential/sanitizer-reproducers.test.ts) are printed
# as "open sanitizer finding ..." lines; anything else is new.
KNOWN=$(grep -o 'open sanitizer finding .*' "$LOG" | sort -u || true)
if grep -v 'open sanitizer finding' "$LOG" | grep -Eq 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer'; then
  echo "asan: NEW SANITIZER REPORTS in $LOG:"
  grep -v 'open sanitizer finding' "$LOG" | grep -E -A30 'ERROR: AddressSanitizer|runtime error:' | head -120
  status=1
fi
if [ -n "$KNOWN" ]; then
  echo "asan: $(printf '%s\n' "$KNOWN" | wc -l) known sanitizer findings still reproduce (pinned, open):"
  printf '%s\n' "$KNOWN" | sed 's/^/  /'
fi
if [ "$status" = 0 ] && [ -n "$KNOWN" ]; then
  echo "asan: clean apart from the known findings above — no new AddressSanitizer or UndefinedBehaviorSanitizer report (log: $LOG)"
elif [ "$status" = 0 ]; then
  echo "asan: clean — no AddressSanitizer or UndefinedBehaviorSanitizer report (log: $LOG)"
else
  echo "asan: FAILED (log: $LOG)"
fi
exit $status
