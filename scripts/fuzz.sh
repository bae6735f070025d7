#!/usr/bin/env bash
# Coverage-guided fuzzing (needs the nightly toolchain and `cargo install
# cargo-fuzz`). Two targets:
#   parse_compile  spec bytes through parse + validate + compile; seeded from
#                  the examples and the bad-input corpus
#   convert        Dockerfile bytes through `stagecraft convert` and the spec
#                  reader; seeded from tests/convert and tests/convert-bad-input
# Crashes found are copied to fuzz/regressions/ (spec inputs) or
# fuzz/regressions/convert/ (Dockerfiles), which `cargo test` replays.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET]   (default 300, parse_compile)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"
target="${2:-parse_compile}"
corpus=corpus/$target
mkdir -p "$corpus" regressions regressions/convert
case $target in
  parse_compile)
    seeds=(../examples/*/build.yaml ../tests/bad-input/*.yaml)
    kept=regressions ;;
  convert)
    seeds=(../tests/convert/*/Dockerfile ../tests/convert-bad-input/*.Dockerfile)
    kept=regressions/convert ;;
  *) echo "unknown target $target (parse_compile or convert)" >&2; exit 2 ;;
esac
for f in "${seeds[@]}"; do
  [ -f "$f" ] && cp "$f" "$corpus/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
status=0
cargo +nightly fuzz run "$target" "$corpus" -- \
  -max_total_time="$seconds" -max_len=65536 -timeout=5 -rss_limit_mb=2048 \
  -print_final_stats=1 2>&1 | tee "fuzz-$target.log" | grep -E "^(#[0-9]+.*(pulse|DONE)|stat::|==|SUMMARY|artifact)" || status=$?
for crash in artifacts/"$target"/crash-* artifacts/"$target"/timeout-* artifacts/"$target"/oom-*; do
  [ -f "$crash" ] && cp "$crash" "$kept/" && echo "kept $(basename "$crash") as a regression case"
done
exit "$status"
