#!/usr/bin/env bash
# Sets up (tools/setup.sh) and runs the whole test suite:
#   1. core, element, two-process and fault tests (build/);
#   2. all of them again, built with coverage (build-cov/): line and branch
#      coverage of core/ and plugin/, held to the README's targets;
#      the core and element tests again, built with AddressSanitizer and
#      UndefinedBehaviorSanitizer (build-asan/), and the core tests built
#      with ThreadSanitizer (build-tsan/, clang);
#   3. two fuzz targets, a bounded number of runs each (build-fuzz/): the
#      core reader on a ring image (from seeds checked to decode to a frame,
#      one of them changing the shared state between reads), and what
#      shmringsrc makes of a record (caps, video layout, tag and event text);
#   4. a 3-minute soak: about 1,000 random SIGKILL/SIGSTOP/SIGCONT/SIGTERM at a
#      writer and three readers, every frame checked (tests/soak/soak.py);
#   5. the benchmark harness in --quick mode, so that it keeps working: it
#      fails if shmring stalls anywhere (shmsink's stalls are data), never on
#      a timing; and a 12 s run of the A/V drift tool, which fails past its
#      drift and offset bounds.
#   6. the Debian package, installed with apt-get, used and removed;
#   7. the mutation check (tools/mutate.sh): each one-line bug of
#      tools/mutants.txt, planted alone in a scratch copy, must turn a suite red.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
status=0

echo "== style (.clang-format)"
# shellcheck disable=SC2046
clang-format --dry-run --Werror $(git ls-files '*.cpp' '*.hpp' '*.h') || status=1

echo "== testing"
meson test -C build --print-errorlogs --num-processes 2 || status=1

echo "== testing again, built with coverage (build-cov/), for line and branch coverage"
[ -f build-cov/build.ninja ] ||
  meson setup build-cov -Dbuildtype=debug -Db_coverage=true >/dev/null
ninja -C build-cov >/dev/null
find build-cov -name '*.gcda' -delete
# The other-users suite runs readers and writers as users it creates: let
# their processes write their counts too (umask 0: files gcov creates are
# writable by the next process, whoever runs it).
find build-cov -type d -exec chmod a+rwx {} +
(umask 000 && meson test -C build-cov --print-errorlogs --num-processes 2) \
  >build-cov/test.log 2>&1 || {
  tail -n 40 build-cov/test.log
  status=1
}
# The README's targets: core 90 % of lines, plugin 80 %. (The report goes to
# a scratch file, never to /dev/null: gcovr replaces its output file, and as
# root it would replace the device node with a regular file.)
coverage_report=$(mktemp)
for part in core:90 plugin:80; do
  dir=${part%%:*}
  summary=$(gcovr --root . --filter "$dir/" --exclude-throw-branches \
    --exclude-unreachable-branches --print-summary -o "$coverage_report" build-cov)
  lines=$(sed -n 's/^lines: \([0-9.]*\)%.*/\1/p' <<<"$summary")
  branches=$(sed -n 's/^branches: \([0-9.]*%.*\)/\1/p' <<<"$summary")
  echo "coverage $dir/: lines $(sed -n 's/^lines: //p' <<<"$summary"), branches $branches"
  if ! awk -v got="$lines" -v want="${part#*:}" 'BEGIN { exit !(got >= want) }'; then
    echo "coverage of $dir/ is below its target of ${part#*:} % of lines"
    status=1
  fi
done
rm -f "$coverage_report"

echo "== testing with AddressSanitizer and UndefinedBehaviorSanitizer"
[ -f build-asan/build.ninja ] ||
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan >/dev/null
# The two-process suites run gst-launch-1.0, which cannot load a plugin
# built with ASan; the core suite forks its own processes.
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 core elements || status=1

echo "== testing the core with ThreadSanitizer"
[ -f build-tsan/build.ninja ] ||
  CXX=clang++ meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dplugin=disabled \
    >/dev/null
ninja -C build-tsan tests/core-tests >/dev/null
# TSan sees one process's accesses through one mapping: tests/core/test_threads.cpp
# shares each handle between threads so that it can check them.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  meson test -C build-tsan --no-rebuild --print-errorlogs core || status=1

echo "== fuzzing the reader"
[ -f build-fuzz/build.ninja ] ||
  CXX=clang++ meson setup build-fuzz -Dfuzzing=true -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-fuzz >/dev/null
corpus=$(mktemp -d)
build-fuzz/tests/fuzz/make-fuzz-seed "$corpus/one-frame"
build-fuzz/tests/fuzz/make-fuzz-seed "$corpus/one-frame-live" --live
fuzz_log=build-fuzz/fuzz-reader.log
# Each seed must still reach what it was made for, or the fuzzer starts from
# garbage: the plain one decodes to its one frame; the live one reads it,
# applies all 8 of its scribbles (8 reads) and meets the cursor-past-the-
# writer resync.
# -detect_leaks=0: libFuzzer runs an input a second time when it suspects a
# leak, which would print everything twice.
check_seed() {  # seed, then the lines its verbose output must contain, each once
  local seed=$1 output
  shift
  output=$(SHMRING_FUZZ_VERBOSE=1 build-fuzz/tests/fuzz/fuzz-reader -detect_leaks=0 \
    "$corpus/$seed" 2>&1 || true)
  for expected in "$@"; do
    if [ "$(grep -c -- "$expected" <<<"$output")" != 1 ]; then
      echo "the fuzz seed $seed no longer gives '$expected' once; the target said:"
      grep -v "^INFO" <<<"$output" | tail -n 20
      status=1
    fi
  done
}
check_seed one-frame "^read status 0, size 100, caps video/x-raw" \
  "^reader: received 1, lost 0, resyncs 0$"
check_seed one-frame-live "^reader: received 1, lost 0, resyncs 1$"
live_reads=$(SHMRING_FUZZ_VERBOSE=1 build-fuzz/tests/fuzz/fuzz-reader -detect_leaks=0 \
  "$corpus/one-frame-live" 2>&1 | grep -c "^read status" || true)
if [ "$live_reads" != 8 ]; then
  echo "the live fuzz seed made $live_reads reads, not 8 (one per scribble)"
  status=1
fi
if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
   build-fuzz/tests/fuzz/fuzz-reader -runs=100000 -max_len=40000 "$corpus" >"$fuzz_log" 2>&1; then
  grep -E "^Done [0-9]+ runs" "$fuzz_log" | sed 's/^/fuzz-reader: /'
  fuzz_result=OK
else
  tail -n 40 "$fuzz_log"
  fuzz_result=FAIL
  status=1
fi
rm -rf "$corpus"

echo "== fuzzing what shmringsrc makes of a record (fields, video layout, caps, tags, events)"
corpus=$(mktemp -d)
build-fuzz/tests/fuzz/make-records-seeds "$corpus"
records_log=build-fuzz/fuzz-records.log
# Each seed must still reach the code it was made for.
for expected in "video-packed:layout applied (3 planes)" "video-padded:layout padded: repacked" \
                "tags:event tag" "event:event custom-downstream"; do
  seed=${expected%%:*}
  seed_output=$(SHMRING_FUZZ_VERBOSE=1 build-fuzz/tests/fuzz/fuzz-records -detect_leaks=0 \
    "$corpus/$seed" 2>&1 || true)
  if ! grep -qx "${expected#*:}" <<<"$seed_output"; then
    echo "the fuzz seed $seed no longer gives '${expected#*:}'; the target said:"
    grep -v "^INFO" <<<"$seed_output" | tail -n 20
    status=1
  fi
done
if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
   LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp ASAN_OPTIONS=fast_unwind_on_malloc=0 \
   build-fuzz/tests/fuzz/fuzz-records -runs=300000 -max_len=20000 "$corpus" \
     >"$records_log" 2>&1; then
  grep -E "^Done [0-9]+ runs" "$records_log" | sed 's/^/fuzz-records: /'
  records_result=OK
else
  tail -n 40 "$records_log"
  records_result=FAIL
  status=1
fi
rm -rf "$corpus"

echo "== benchmark harness (--quick)"
bench_out=build/bench-quick
rm -rf "$bench_out"
if GST_PLUGIN_PATH="$PWD/build/plugin" python3 bench/run.py --quick --out "$bench_out" \
     >build/bench-quick.log 2>&1 &&
   [ -s "$bench_out/results.txt" ] && [ -s "$bench_out/throughput.png" ] &&
   [ -s "$bench_out/ring-bandwidth.png" ]; then
  head -n 1 "$bench_out/results.txt"
  bench_result=OK
else
  tail -n 30 build/bench-quick.log
  bench_result=FAIL
  status=1
fi

echo "== A/V drift tool (short run)"
if GST_PLUGIN_PATH="$PWD/build/plugin" timeout 120 /usr/bin/python3 bench/av_drift.py --seconds 12 \
     >build/av-drift.log 2>&1; then
  grep "^drift" build/av-drift.log
  drift_result=OK
else
  tail -n 20 build/av-drift.log
  drift_result=FAIL
  status=1
fi

echo "== soak: random SIGKILL/SIGSTOP/SIGCONT/SIGTERM at a writer and three readers (3 min)"
if GST_PLUGIN_PATH="$PWD/build/plugin" timeout 600 python3 tests/soak/soak.py \
     --seconds 180 --events 1000 >build/soak.log 2>&1; then
  grep "^soak: \(events\|hangs\)" build/soak.log
  soak_result=OK
else
  tail -n 30 build/soak.log
  soak_result=FAIL
  status=1
fi

echo "== the Debian package: built, installed with apt-get, used, removed"
if tests/package/test_package.sh >build/package.log 2>&1; then
  grep -E "^installed|^package|Filename|Version" build/package.log
  package_result=OK
else
  tail -n 30 build/package.log
  package_result=FAIL
  status=1
fi

echo "== mutation check: each one-line bug of tools/mutants.txt must turn a suite red"
# Every suite ran on this tree above: when all passed, that is the check's
# baseline, which it need not take again.
baseline=()
[ "$status" = 0 ] && baseline=(--baseline-passed)
if tools/mutate.py "${baseline[@]}" >build/mutate.log 2>&1; then
  grep "^mutants:" build/mutate.log
  mutate_result=OK
else
  grep -v "caught by" build/mutate.log | tail -n 30
  mutate_result=FAIL
  status=1
fi

python3 tools/summarize_tests.py build/meson-logs/testlog.json \
  asan:build-asan/meson-logs/testlog.json tsan:build-tsan/meson-logs/testlog.json \
  "fuzz-reader=$fuzz_result" "fuzz-records=$records_result" \
  "bench-quick=$bench_result" "av-drift=$drift_result" "soak=$soak_result" \
  "package=$package_result" "mutants=$mutate_result"
leftovers=$(ls /dev/shm | grep '^shmring\.' || true)
if [ -n "$leftovers" ]; then
  echo "shared memory objects left behind: $leftovers"
  status=1
fi
exit $status
