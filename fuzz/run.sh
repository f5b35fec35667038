#!/usr/bin/env bash
# Coverage-guided fuzzing of wcc's protocol decoders and the gateway's framers (cargo-fuzz,
# libFuzzer). One target per decoder or framer; see fuzz_targets/ for what each one asserts.
#
#   fuzz/run.sh install     cargo-fuzz (from crates.io) if missing, and a C++ compiler
#   fuzz/run.sh build       build every target
#   fuzz/run.sh smoke       every target from its seed corpus, ~20 s in all (part of `make test`)
#   fuzz/run.sh full [N]    every target for N executions (default 10,000,000), one at a time
#   fuzz/run.sh cmin        fold what `full` found into fuzz/corpus/, minimized (seeds kept)
#   fuzz/run.sh repro T F   run target T on the input file F (a crash from fuzz/artifacts/T/)
#
# Only the stable toolchain of rust-toolchain.toml is there; cargo-fuzz's -Z flags pass through
# RUSTC_BOOTSTRAP=1. The code under test is safe Rust, so no sanitizer (--sanitizer none): a
# panic or a failed assertion is the crash; overflow checks and debug assertions are on.
# Exits non-zero if any target crashes, times out or runs out of memory.
set -euo pipefail

caller_dir=$(pwd)
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$HOME/.cache/wcc-fuzz-target"
export RUSTC_BOOTSTRAP=1
# Inputs `full` finds beyond the seeds; `cmin` folds them into corpus/.
FOUND_DIR="$HOME/.cache/wcc-fuzz-found"

TARGETS=(venueless_decode cadmium_decode actionhero_decode rebuttal_decode console_decode gateway_lines gateway_websocket)
BUILD_FLAGS=(--sanitizer none --release --debug-assertions)
# libFuzzer: inputs up to 4 KiB, one input may take 10 s at most, stop at the first crash.
FUZZ_FLAGS=(-max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
CARGO_FUZZ_VERSION=0.13.2

host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$CARGO_TARGET_DIR/$host/release"

install() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
    fi
    # libfuzzer-sys compiles libFuzzer (C++).
    if ! command -v c++ >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && apt-get install -y -qq g++
        else
            echo "fuzz: a C++ compiler (c++) is needed to build libFuzzer" >&2
            exit 1
        fi
    fi
    cargo fuzz --version
}

build() {
    cargo fuzz --version >/dev/null 2>&1 || {
        echo "fuzz: cargo-fuzz is missing: run fuzz/run.sh install" >&2
        exit 1
    }
    cargo fuzz build "${BUILD_FLAGS[@]}"
}

# run_target TARGET LOG [libFuzzer arguments...]: one libFuzzer run; its status is returned.
run_target() {
    local target=$1 log=$2
    shift 2
    mkdir -p "artifacts/$target"
    "$bin_dir/$target" "${FUZZ_FLAGS[@]}" -artifact_prefix="artifacts/$target/" "$@" >"$log" 2>&1
}

# report TARGET STATUS SECONDS LOG: one line per target; the log's tail on failure.
report() {
    local target=$1 status=$2 seconds=$3 log=$4 execs rate outcome
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=${execs:-?}
    rate=$(awk -v n="$execs" -v s="$seconds" 'BEGIN { if (n ~ /^[0-9]+$/ && s > 0) printf "%d", n / s; else print "?" }')
    if [ "$status" = 0 ]; then outcome=ok; else outcome="CRASH (exit $status)"; fi
    printf '%-20s %12s execs %8.1f s %10s exec/s  %s\n' "$target" "$execs" "$seconds" "$rate" "$outcome"
    if [ "$status" != 0 ]; then
        tail -40 "$log" | sed 's/^/    /'
        ls "artifacts/$target"/ 2>/dev/null | sed "s|^|    artifact: fuzz/artifacts/$target/|"
    fi
}

# fuzz_all SECONDS_PER_TARGET RUNS: every target in turn (2 cores: never two at once).
fuzz_all() {
    local per_target=$1 runs=$2 failed=0 target status start seconds work log
    local logs
    logs=$(mktemp -d)
    for target in "${TARGETS[@]}"; do
        if [ "$runs" = 0 ]; then
            # Smoke: new inputs go to a scratch folder, the repository's corpus stays as it is.
            work=$(mktemp -d)
        else
            work="$FOUND_DIR/$target"
            mkdir -p "$work"
        fi
        log="$logs/$target.log"
        start=$(date +%s.%N)
        status=0
        if [ "$runs" = 0 ]; then
            run_target "$target" "$log" -max_total_time="$per_target" "$work" "corpus/$target" || status=$?
            rm -rf "$work"
        else
            run_target "$target" "$log" -runs="$runs" "$work" "corpus/$target" || status=$?
        fi
        seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        report "$target" "$status" "$seconds" "$log"
        if [ "$status" != 0 ]; then failed=1; fi
    done
    rm -rf "$logs"
    if [ "$failed" != 0 ]; then
        echo "fuzz: a target crashed (inputs in fuzz/artifacts/)" >&2
        return 1
    fi
    echo "fuzz: no crashes"
}

case "${1:-}" in
    install)
        install
        ;;
    build)
        build
        ;;
    smoke)
        build
        # 6 targets x 2 s (each run takes ~3 s with start-up): ~20 s in all.
        fuzz_all 2 0
        ;;
    full)
        runs=${2:-10000000}
        case "$runs" in '' | *[!0-9]* | 0)
            echo "usage: fuzz/run.sh full [N>0]" >&2
            exit 2
            ;;
        esac
        build
        echo "fuzz: $runs executions per target; new inputs in $FOUND_DIR"
        fuzz_all 0 "$runs"
        ;;
    cmin)
        build
        for target in "${TARGETS[@]}"; do
            # The hand-written seeds (named for what they are) stay; everything else, found
            # inputs (named by their hash) and what `full` found, is merged again on top of
            # them: libFuzzer's -merge=1, what `cargo fuzz cmin` runs, which would rename the
            # seeds too. Edges only (no hit-count buckets): a few hundred files per target.
            pool=$(mktemp -d)
            find "corpus/$target" -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' \
                -exec mv -t "$pool" {} +
            if [ -d "$FOUND_DIR/$target" ]; then
                cp -rn "$FOUND_DIR/$target/." "$pool/"
            fi
            "$bin_dir/$target" -merge=1 -use_counters=0 -max_len=4096 "corpus/$target" "$pool" \
                >"$CARGO_TARGET_DIR/cmin-$target.log" 2>&1 || {
                tail -20 "$CARGO_TARGET_DIR/cmin-$target.log" >&2
                exit 1
            }
            rm -rf "$pool"
            echo "$target: $(find "corpus/$target" -type f | wc -l) files, $(cat "corpus/$target"/* | wc -c) bytes"
        done
        ;;
    repro)
        [ $# = 3 ] || {
            echo "usage: fuzz/run.sh repro TARGET FILE" >&2
            exit 2
        }
        build
        cd "$caller_dir" && "$bin_dir/$2" "$3"
        ;;
    *)
        sed -n '2,15p' "$(basename "$0")" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
