#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (address sanitizer on) and runs each for a set time.
#   bash Scripts/fuzz.sh                       every target, 60 s each
#   bash Scripts/fuzz.sh --seconds 300 conll   one target, 5 minutes
#   bash Scripts/fuzz.sh --list                the targets
# Prints executions, corpus size and crashes per target; crash, timeout and out-of-memory inputs are kept
# in fuzz-crashes/TARGET/ (git-ignored) with the command that replays them. Exits 1 when anything crashed.
# The growing corpus lives in .build-fuzz/corpus/TARGET, seeded from Fuzz/Corpus/TARGET; dictionaries are
# Fuzz/Dictionaries/TARGET.dict. Run it under `nice` on a shared machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_targets="strict-json conll jsonl label-names config tokenizer-json vocab-txt tokenizer-config tokenizer-text safetensors tagging-settings"
seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds)
      [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds needs a whole number of seconds above 0" >&2; exit 2; }
      seconds=$2; shift 2 ;;
    --list) tr ' ' '\n' <<<"$all_targets"; exit 0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (known: --seconds N, --list, --help)" >&2; exit 2 ;;
    *)
      [[ " $all_targets " == *" $1 "* ]] || { echo "fuzz.sh: no target \"$1\"; the targets: $all_targets" >&2; exit 2; }
      targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$all_targets"

scratch=.build-fuzz
echo "==> building the fuzz targets (release, -sanitize=fuzzer,address) in $scratch"
# swiftc honours only the last -sanitize= it is given, and SwiftPM passes one per --sanitize: the -Xswiftc flag,
# which comes last, gives Swift code both coverage (fuzzer) and address checks; the --sanitize flags give them
# to the C targets and make SwiftPM link libFuzzer's main.
swift build --package-path Fuzz --scratch-path "$scratch" -c release --sanitize=fuzzer --sanitize=address \
  -Xswiftc -sanitize=fuzzer,address 2>&1 \
  | grep -v "Cannot export local symbol '__asan_extra_spill_area'" | grep -E "error|warning: .*\.swift|Compiling|Build complete" | tail -5
bin="$scratch/release"

cpu=$(grep -m1 "model name" /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || uname -m)
echo "==> ${#targets[@]} target(s), $seconds s each, on $(nproc) core(s): $cpu"
crashed=0
summary=""
# A crash is reported by libFuzzer at once; the Swift runtime's own backtracer would hold the process first.
export SWIFT_BACKTRACE=enable=no
for target in "${targets[@]}"; do
  corpus="$scratch/corpus/$target"
  crashes="fuzz-crashes/$target"
  log="$scratch/logs/$target.log"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  before=$(find "$crashes" -type f | wc -l)
  echo "==> fuzz-$target for $seconds s (log: $log)"
  set +e
  "$bin/fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -dict="Fuzz/Dictionaries/$target.dict" -artifact_prefix="$crashes/" "$corpus" "Fuzz/Corpus/$target" >"$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  inputs=$(find "$corpus" -type f | wc -l)
  found=$(( $(find "$crashes" -type f | wc -l) - before ))
  if [ $status -ne 0 ] || [ $found -gt 0 ]; then
    crashed=1
    kind=$(grep -m1 -oE "ERROR: (AddressSanitizer|libFuzzer): [a-z-]+[^(]*|Fatal error: .*|SUMMARY: .*" "$log" || true)
    echo "    CRASH (exit $status): ${kind:-see the log}"
    for f in $(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //'); do
      echo "    replay: $bin/fuzz-$target $f"
    done
  fi
  summary+=$(printf '%-18s %12s %10s %8s\n' "$target" "${runs:-?}" "$inputs" "$found")$'\n'
done
echo
printf '%-18s %12s %10s %8s\n' target executions corpus crashes
printf '%s' "$summary"
exit $crashed
