# The Stagecraft frontend image.
#
# With internet access:   docker build -t stagecraft .   (the build stage
#                          says how to build for amd64 and arm64 at once)
# Offline (this repo's machines): `make image` builds the static binary with
# the host toolchain and packages it with `--target image-from-host`.
#
# The image holds one static binary and nothing else: BuildKit runs it as
# the gateway frontend for specs that start with `# syntax=<this image>`.

FROM scratch AS image-from-host
COPY build/stagecraft /stagecraft
# The daemon starts a frontend only for requests whose capabilities this
# label lists (--build-context, --print/--call need them).
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
# The frontend talks to the daemon over stdio only; without this label
# BuildKit gives its container a network namespace, which costs ~0.1 s on
# every build (as the Dockerfile frontend's image does, we opt out).
LABEL moby.buildkit.frontend.network.none="true"
ENTRYPOINT ["/stagecraft", "frontend"]

# For users with a registry: one image for linux/amd64 and linux/arm64
# (Apple silicon, Graviton), each binary cross-compiled on the build
# platform, so no emulation is needed:
#   docker buildx build --platform linux/amd64,linux/arm64 -t REG/stagecraft --push .
FROM --platform=$BUILDPLATFORM rust:1-bookworm AS build
ARG TARGETARCH
# The C toolchain of the target architecture links the static binary.
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /triple; gcc=gcc-x86-64-linux-gnu ;; \
      arm64) echo aarch64-unknown-linux-gnu > /triple; gcc=gcc-aarch64-linux-gnu ;; \
      *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && apt-get update && apt-get install -y --no-install-recommends "$gcc" "libc6-dev-$TARGETARCH-cross" \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add "$(cat /triple)"
WORKDIR /src
COPY . .
ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
RUN triple="$(cat /triple)" \
 && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target "$triple" -p stagecraft \
 && cp "target/$triple/release/stagecraft" /stagecraft

FROM scratch AS image
COPY --from=build /stagecraft /stagecraft
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
# The frontend talks to the daemon over stdio only; without this label
# BuildKit gives its container a network namespace, which costs ~0.1 s on
# every build (as the Dockerfile frontend's image does, we opt out).
LABEL moby.buildkit.frontend.network.none="true"
ENTRYPOINT ["/stagecraft", "frontend"]
