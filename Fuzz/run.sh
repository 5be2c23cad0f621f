#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/Harness and runs them one after the other.
#
#   Fuzz/run.sh [--seconds N] [--build-only] [target...]
#
# Targets: npy safetensors png pnm windows (default: all). Each runs for N
# seconds (default 60) as one process (-jobs/-workers are never used: the
# machine is shared), with ASan and leak checking, a 10 s per-input timeout and
# a 2 GB memory ceiling. New corpus entries go to Fuzz/work/corpus/<target>;
# the committed seeds in Fuzz/corpus/<target> are only read. Crash, leak,
# timeout and out-of-memory inputs are written to Fuzz/work/artifacts/<target>-<time>/.
# Prints one summary line per target; exits 1 if any target found something.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work="$here/work"
all_targets=(npy safetensors png pnm windows)

seconds=60
build_only=0
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --build-only) build_only=1; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *)
            if [[ ! " ${all_targets[*]} " == *" $1 "* ]]; then
                echo "unknown target $1; targets: ${all_targets[*]}" >&2; exit 2
            fi
            targets+=("$1"); shift ;;
    esac
done
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

# -O keeps Swift's overflow and bounds checks (they trap, and a trap is a crash
# the fuzzer records) and runs several times faster than -Onone; -g names the
# source lines in stack traces. -enable-testing lets harnesses reach internal
# helpers (CRC-32 to repair mutated chunks, the Deflater to build PNGs).
swift_flags=(-O -g -sanitize=fuzzer,address -parse-as-library -swift-version 6 -package-name FrameSequencing)
mkdir -p "$work/build" "$work/bin"

# Rebuilds `output` when it is missing or older than any of `inputs`.
stale() {
    local output=$1; shift
    [[ ! -e "$output" ]] && return 0
    local input
    for input in "$@"; do [[ "$input" -nt "$output" ]] && return 0; done
    return 1
}

# FrameSequencing is three modules (the runtime, the core, the file formats); each is
# built instrumented, in dependency order, and the harnesses link all three.
objects=()
for module in FrameSequencingRuntime FrameSequencingCore FrameSequencingIO; do
    module_sources=("$root/Sources/$module"/*.swift)
    object="$work/build/$module.o"
    if stale "$object" "${module_sources[@]}" "${objects[@]}" "$0"; then
        echo "building $module (${#module_sources[@]} files, instrumented)..."
        swiftc "${swift_flags[@]}" -enable-testing -module-name "$module" -whole-module-optimization \
            -I "$work/build" -emit-module -emit-module-path "$work/build/$module.swiftmodule" \
            -c -o "$object" "${module_sources[@]}"
    fi
    objects+=("$object")
done

for target in "${targets[@]}"; do
    harness=("$here/Harness/FuzzSupport.swift" "$here/Harness/$target.swift")
    for extra in "$here/Harness/$target"+*.swift; do [[ -e "$extra" ]] && harness+=("$extra"); done
    binary="$work/bin/$target"
    if stale "$binary" "${objects[@]}" "${harness[@]}"; then
        echo "building fuzz target $target..."
        swiftc "${swift_flags[@]}" -module-name "Fuzz_$target" -I "$work/build" -use-ld=lld \
            "${harness[@]}" "${objects[@]}" -o "$binary"
    fi
done
[[ $build_only -eq 1 ]] && exit 0

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:${ASAN_OPTIONS:-}"
# Swift's own crash handler would race libFuzzer's for a trap and lose the input's stack.
export SWIFT_BACKTRACE=enable=no
summaries=()
failed=0
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    artifacts="$work/artifacts/$target-$(date +%Y%m%d-%H%M%S)"
    log="$work/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    echo "fuzzing $target for $seconds s (log: ${log#"$root"/})..."
    status=0
    # The first directory receives new inputs; the committed seeds are read only.
    "$work/bin/$target" "$corpus" "$here/corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$log" 2>&1 || status=$?
    executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    elapsed=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | grep -o 'in [0-9]*' | grep -o '[0-9]*' || true)
    found=$(find "$artifacts" -type f ! -name 'slow-unit-*' | sort)
    if [[ -z "$found" ]]; then
        rmdir "$artifacts" 2>/dev/null || true
        if [[ $status -ne 0 ]]; then
            failed=1
            summaries+=("$target: exited with status $status and no artifact (see ${log#"$root"/})")
            continue
        fi
        summaries+=("$target: ${executions:-?} executions in ${elapsed:-$seconds} s, crashes=0")
    else
        failed=1
        summaries+=("$target: ${executions:-?} executions, crashes=$(echo "$found" | wc -l): $(echo "$found" | sed "s|$root/||" | tr '\n' ' ')(see ${log#"$root"/})")
    fi
done
printf '%s\n' "${summaries[@]}"
exit $failed
