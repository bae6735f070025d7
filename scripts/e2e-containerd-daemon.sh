#!/usr/bin/env bash
# scripts/e2e-containerd-daemon.sh — a second, private dockerd that uses the
# containerd image store, for the end-to-end tests that the main daemon's
# docker driver refuses:
#
#   * multi-platform builds (`--platform linux/amd64,linux/386`),
#   * the OCI exporter (`--output type=oci`),
#   * cache export other than inline (`--cache-to type=local|registry`).
#
# It also puts a two-platform busybox, linux/amd64 and linux/386, into the
# local registry as 127.0.0.1:5000/stagecraft-e2e/busybox:multi, so that a
# multi-platform build has a base image for each platform. The linux/386 one
# is Debian's i386 busybox-static (fetched once from the apt mirror); this
# amd64 kernel runs its binaries natively.
#
# buildx 0.13 allows these with the docker driver only when the daemon's
# BuildKit worker reports a containerd snapshotter. Switching the main daemon
# to the containerd store would hide every image other tests use, so this one
# runs beside it with its own data root, exec root, socket and bridge, and
# without touching iptables. Its builder cache is private to the tests that
# use it, so they may prune it.
#
# Usage: scripts/e2e-containerd-daemon.sh [--stop]
# Prints DOCKER_HOST=<the socket to use>. Idempotent: when the daemon answers, it only
# (re)loads the images. Each run copies busybox:latest, debian:bookworm-slim
# and the current stagecraft:dev from the main daemon. Needs root and the
# environment scripts/e2e-env.sh sets up.
#
# Log: /var/log/stagecraft-containerd-dockerd.log
set -euo pipefail

DOCKER=/usr/bin/docker
NAME=stagecraft-cdocker
SOCKET=/run/$NAME.sock
HOST=unix://$SOCKET
DATA_ROOT=/var/lib/stagecraft/containerd-docker
EXEC_ROOT=/run/$NAME
PIDFILE=/run/$NAME.pid
CONFIG=/var/lib/stagecraft/containerd-docker.json
LOG=/var/log/stagecraft-containerd-dockerd.log
LOCK=/run/$NAME.lock
# Its own bridge: dockerd started with `--bridge=none` deletes docker0, which
# belongs to the main daemon, so "no bridge" is not an option.
BRIDGE=scdocker0
BRIDGE_ADDR=172.31.250.1/24
IMAGES=(busybox:latest debian:bookworm-slim stagecraft:dev)
WAIT_SECS=60

# shellcheck source=lib/daemonize.sh
. "$(dirname "$0")/lib/daemonize.sh"

log() { echo "[containerd-daemon] $*" >&2; }
die() { echo "[containerd-daemon] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
up() { "$DOCKER" -H "$HOST" info >/dev/null 2>&1; }

if [ "${1:-}" = --stop ]; then
  if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; fi
  exit 0
fi

exec 9>"$LOCK"
flock -w 120 9 || die "another run holds $LOCK"

ensure_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

ensure_daemon() {
  up && return 0
  ensure_bridge
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  echo '{"features": {"containerd-snapshotter": true}}' >"$CONFIG"
  if [ -f "$PIDFILE" ] && [ "$(cat /proc/"$(cat "$PIDFILE")"/comm 2>/dev/null)" != dockerd ]; then
    rm -f "$PIDFILE"
  fi
  log "starting dockerd with the containerd image store (log: $LOG)"
  daemonize "$LOG" dockerd --config-file "$CONFIG" --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" -H "$HOST" \
    --bridge "$BRIDGE" --iptables=false --ip6tables=false
  local i
  for ((i = 0; i < WAIT_SECS * 4; i++)); do
    up && return 0
    sleep 0.25
  done
  tail -n 20 "$LOG" >&2
  die "the containerd-store dockerd did not answer within ${WAIT_SECS}s"
}

# ensure_multiarch_busybox: the linux/amd64 + linux/386 busybox in the registry.
# shellcheck source=scripts/lib/multiarch-busybox.sh
. "$(dirname "$0")/lib/multiarch-busybox.sh"

ensure_daemon
"$DOCKER" save "${IMAGES[@]}" | "$DOCKER" -H "$HOST" load -q >/dev/null \
  || die "cannot copy ${IMAGES[*]} from the main daemon"
ensure_multiarch_busybox "$DOCKER" "$HOST"
echo "DOCKER_HOST=$HOST"
