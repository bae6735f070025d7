#!/usr/bin/env bash
# Builds the frontend image `stagecraft:dev` offline: a static binary from
# the host toolchain, packaged into a scratch image by the top-level
# Dockerfile's `image-from-host` stage (no base image to pull).
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-stagecraft:dev}"
triple=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$triple" -p stagecraft
mkdir -p build
cp "target/$triple/release/stagecraft" build/stagecraft
# The binary must not need a libc in the image.
if ldd build/stagecraft 2>&1 | grep -q '=>'; then
  echo "build/stagecraft is dynamically linked; the image has no libc" >&2
  exit 1
fi
DOCKER_BUILDKIT=1 docker build -q --target image-from-host -t "$tag" . >/dev/null
echo "built $tag: $(docker image inspect -f '{{.Size}}' "$tag") bytes"
