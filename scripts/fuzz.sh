#!/usr/bin/env bash
# Coverage-guided fuzzing of parse + validate + compile (needs the nightly
# toolchain and `cargo install cargo-fuzz`). Seeds the corpus from the
# examples and the bad-input corpus; crashes found are copied to
# fuzz/regressions/, which `cargo test` replays on every run.
#
# Usage: scripts/fuzz.sh [SECONDS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"
corpus=corpus/parse_compile
mkdir -p "$corpus" regressions
for f in ../examples/*/build.yaml ../tests/bad-input/*.yaml; do
  [ -f "$f" ] && cp "$f" "$corpus/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
status=0
cargo +nightly fuzz run parse_compile "$corpus" -- \
  -max_total_time="$seconds" -max_len=65536 -timeout=5 -rss_limit_mb=2048 \
  -print_final_stats=1 2>&1 | tee fuzz.log | grep -E "^(#[0-9]+.*(pulse|DONE)|stat::|==|SUMMARY|artifact)" || status=$?
for crash in artifacts/parse_compile/crash-* artifacts/parse_compile/timeout-* artifacts/parse_compile/oom-*; do
  [ -f "$crash" ] && cp "$crash" regressions/ && echo "kept $(basename "$crash") as a regression case"
done
exit "$status"
