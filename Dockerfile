# The Stagecraft frontend image.
#
# With internet access:   docker build -t stagecraft .
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

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu -p stagecraft \
 && cp target/x86_64-unknown-linux-gnu/release/stagecraft /stagecraft

FROM scratch AS image
COPY --from=build /stagecraft /stagecraft
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
# The frontend talks to the daemon over stdio only; without this label
# BuildKit gives its container a network namespace, which costs ~0.1 s on
# every build (as the Dockerfile frontend's image does, we opt out).
LABEL moby.buildkit.frontend.network.none="true"
ENTRYPOINT ["/stagecraft", "frontend"]
