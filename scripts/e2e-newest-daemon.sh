#!/usr/bin/env bash
# scripts/e2e-newest-daemon.sh — Debian's NEWEST Docker, beside the main one:
# docker.io (dockerd + embedded BuildKit), docker-cli, docker-buildx and
# containerd from Debian testing (forky), for running the end-to-end suite a
# second time on what a user of a current Docker has.
#
#   * The packages are fetched with `apt-get download` from forky on the host's
#     own Debian mirror, through a private apt state (sources, lists, cache,
#     dpkg status under $BASE/apt): the system's apt configuration, lists and
#     installed packages are never touched, and forky is never added to them.
#   * They are unpacked with `dpkg-deb -x` into $BASE/root; nothing is
#     installed. runc is the system's (bookworm's; forky's needs glibc 2.38).
#   * A containerd from that tree and a dockerd on top of it run with their own
#     data root, exec root, socket, pid file and bridge (its own subnet). The
#     dockerd leaves iptables alone (the main daemon owns its chains); this
#     script adds the two NAT/forward rules the bridge needs so RUN steps can
#     reach the apt mirror, as on the main daemon.
#   * buildx goes in as a CLI plugin of a private DOCKER_CONFIG; the CLI is
#     the one of the unpacked docker-cli package.
#   * busybox:latest (and :1.35), debian:bookworm-slim, debian:bookworm and the current
#     stagecraft:dev are copied from the main daemon (docker save | docker
#     load); nothing is pulled.
#
# Two instances share the unpacked tree:
#   (default)           "newest": the default image store, as Debian ships it;
#   --containerd-store  "newest-cd": the containerd image store, for the tests
#                       that need it (multi-platform, OCI export, cache export),
#                       like scripts/e2e-containerd-daemon.sh for dockerd 26.
#                       It also makes sure the registry has the two-platform
#                       busybox those tests use.
#
# Usage: scripts/e2e-newest-daemon.sh [--containerd-store] [--refresh] [--stop]
#   --refresh  check forky (at most every 12 h) and move to a newer version if
#              there is one, restarting both instances. Without it, a tree that
#              is already unpacked is used as it is.
#   --stop     stop the instance (dockerd, then its containerd).
# Prints, one per line, what a test needs:
#   DOCKER=<the 28.x CLI>  DOCKER_HOST=unix://...  DOCKER_CONFIG=<dir with buildx>
# so `export $(scripts/e2e-newest-daemon.sh)` points a shell at it.
#
# When forky has no such package, or its binaries need a newer glibc than this
# machine has, the script says so and exits non-zero.
#
# Idempotent and serialised with a lock; needs root and what
# scripts/e2e-env.sh sets up (the main daemon, base images, the registry).
# Logs: /var/log/stagecraft-newest{,-cd}-{dockerd,containerd}.log,
#       apt output in /var/log/stagecraft-newest-setup.log.
set -euo pipefail

MAIN_DOCKER=/usr/bin/docker                  # the main (dockerd 26) daemon's CLI
BASE=/var/lib/stagecraft/newest
ROOT=$BASE/root
APT_DIR=$BASE/apt
DEB_DIR=$BASE/debs
CLI_CONFIG=$BASE/docker-config
NEW_DOCKER=$ROOT/usr/bin/docker
SUITE=forky
# docker-init (docker run --init) is a link to tini-static; runc stays the system's.
PACKAGES=(docker.io docker-cli docker-buildx containerd tini-static)
IMAGES=(busybox:latest busybox:1.35 debian:bookworm-slim debian:bookworm stagecraft:dev)
SETUP_LOG=/var/log/stagecraft-newest-setup.log
LOCK=/run/stagecraft-newest.lock
WAIT_SECS=60
REFRESH_SECS=$((12 * 3600))

log() { echo "[newest-daemon] $*" >&2; }
die() { echo "[newest-daemon] ERROR: $*" >&2; exit 1; }
quiet() {
  if ! "$@" >>"$SETUP_LOG" 2>&1; then
    tail -n 20 "$SETUP_LOG" >&2
    die "command failed: $* (full log: $SETUP_LOG)"
  fi
}

INSTANCE=newest
# A bridge and subnet of its own per instance: 172.17.0.0/16 is docker0 (main
# daemon), 172.31.250.0/24 scripts/e2e-containerd-daemon.sh's.
BRIDGE=scnewest0
SUBNET=172.31.228
STORE_CONFIG='{}'
REFRESH=0
STOP=0
for arg in "$@"; do
  case $arg in
    --containerd-store)
      INSTANCE=newest-cd BRIDGE=scnewestcd0 SUBNET=172.31.229
      STORE_CONFIG='{"features": {"containerd-snapshotter": true}}' ;;
    --refresh) REFRESH=1 ;;
    --stop) STOP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

NAME=stagecraft-$INSTANCE
SOCKET=/run/$NAME.sock
HOST=unix://$SOCKET
DATA_ROOT=$BASE/$INSTANCE-data
EXEC_ROOT=/run/$NAME
PIDFILE=/run/$NAME.pid
DAEMON_CONFIG=$BASE/$INSTANCE-daemon.json
LOG=/var/log/$NAME-dockerd.log
CTD_ROOT=$BASE/$INSTANCE-containerd
CTD_STATE=/run/$NAME-containerd
CTD_SOCKET=$CTD_STATE/containerd.sock
CTD_CONFIG=$BASE/$INSTANCE-containerd.toml
CTD_PIDFILE=/run/$NAME-containerd.pid
CTD_LOG=/var/log/$NAME-containerd.log
# The unpacked tree comes first, so dockerd finds its own docker-init and
# docker-proxy, and containerd its own shim; runc is found further down.
DAEMON_PATH=$ROOT/usr/sbin:$ROOT/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

[ "$(id -u)" = 0 ] || die "must run as root"
# A failing command that is not checked otherwise still says where it was
# (-E: in functions too).
set -E
trap 'echo "[newest-daemon] ERROR: line $LINENO: $BASH_COMMAND failed" >&2' ERR

# ---------------------------------------------------------------- processes
alive() { # alive PIDFILE COMM
  [ -f "$1" ] && [ "$(cat /proc/"$(cat "$1")"/comm 2>/dev/null)" = "$2" ]
}

stop_process() { # stop_process PIDFILE COMM
  alive "$1" "$2" || { rm -f "$1"; return 0; }
  local pid i; pid=$(cat "$1")
  kill "$pid"
  for ((i = 0; i < WAIT_SECS * 4; i++)); do
    [ -d /proc/"$pid" ] || { rm -f "$1"; return 0; }
    sleep 0.25
  done
  die "$2 (pid $pid) did not stop within ${WAIT_SECS}s"
}

stop_instance() { # stop_instance NAME
  stop_process "/run/$1.pid" dockerd
  stop_process "/run/$1-containerd.pid" containerd
}

if [ "$STOP" = 1 ]; then
  stop_instance "$NAME"
  exit 0
fi

exec 9>"$LOCK"
flock -w 300 9 || die "another run holds $LOCK"

# ---------------------------------------------------------------- packages
apt_private() { # apt_private apt-get|apt-cache ARGS...: forky only, private state
  local tool=$1; shift
  "$tool" -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$APT_DIR/sources" \
    -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts="$APT_DIR/preferences" \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::State::status="$APT_DIR/status" \
    -o Dir::Cache="$APT_DIR/cache" -o APT::Sandbox::User=root "$@"
}

update_forky_lists() {
  # shellcheck source=scripts/lib/apt-mirror.sh
  . "$(dirname "$0")/lib/apt-mirror.sh"
  local mirror
  mirror=$(apt_uri_for_suite bookworm | head -n1)
  mirror=${mirror%/}
  [ -n "$mirror" ] || die "no apt source for 'bookworm' in /etc/apt; cannot tell the mirror"
  mkdir -p "$APT_DIR"/{sources,preferences,lists/partial,cache/archives/partial}
  : >"$APT_DIR/status"   # no installed packages: the candidate is forky's own
  cat >"$APT_DIR/sources/forky.sources" <<EOF
# Written by stagecraft scripts/e2e-newest-daemon.sh; used only by its own apt calls.
Types: deb
URIs: $mirror
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  log "reading $SUITE's package lists from $mirror (private apt state: $APT_DIR)"
  quiet apt_private apt-get update -q
  # apt keeps the server's dates on the lists; this stamp is ours.
  touch "$APT_DIR/updated"
}

lists_fresh() {
  [ -n "$(find "$APT_DIR/updated" -newermt "-$REFRESH_SECS seconds" 2>/dev/null)" ]
}

# candidate_version PKG: forky's version, or nothing when forky has no such package.
candidate_version() {
  { apt_private apt-cache show --no-all-versions "$1" 2>/dev/null || true; } |
    sed -n 's/^Version: //p' | head -n1
}

# Dies unless forky has every package, each needing no newer glibc than ours.
check_candidates() {
  local libc p version need
  libc=$(dpkg-query -W -f='${Version}' libc6)
  for p in "${PACKAGES[@]}"; do
    version=$(candidate_version "$p")
    [ -n "$version" ] || die "Debian $SUITE has no package '$p' (any more); cannot set up the newest Docker"
    need=$(apt_private apt-cache show --no-all-versions "$p" | sed -n 's/^\(Pre-\)\{0,1\}Depends: //p' |
      { grep -o 'libc6 (>= [^)]*)' || true; } | sed 's/libc6 (>= \(.*\))/\1/' | sort -V | tail -n1)
    if [ -n "$need" ] && ! dpkg --compare-versions "$libc" ge "$need"; then
      die "$SUITE's $p $version needs glibc >= $need; this machine has $libc." \
        "The newest Docker cannot run here until the machine is upgraded."
    fi
  done
}

wanted_versions() {
  local p
  for p in "${PACKAGES[@]}"; do echo "$p $(candidate_version "$p")"; done
}

# Downloads and unpacks the candidates into $ROOT.new; every binary must run.
unpack_candidates() {
  rm -rf "$DEB_DIR" "$ROOT.new"
  mkdir -p "$DEB_DIR" "$ROOT.new"
  log "downloading ${PACKAGES[*]} from $SUITE"
  (cd "$DEB_DIR" && quiet apt_private apt-get download -q "${PACKAGES[@]}")
  local deb
  for deb in "$DEB_DIR"/*.deb; do dpkg-deb -x "$deb" "$ROOT.new"; done
  local bin out
  for bin in usr/sbin/dockerd:--version usr/bin/docker:--version usr/bin/containerd:--version \
    usr/libexec/docker/cli-plugins/docker-buildx:version; do
    set -- "${bin%%:*}" "${bin#*:}"
    bin=$1
    [ -x "$ROOT.new/$bin" ] || die "the $SUITE packages have no /$bin any more"
    if ! out=$("$ROOT.new/$bin" "$2" 2>&1); then
      die "the $SUITE /$bin does not run on this machine: $out"
    fi
  done
  wanted_versions >"$ROOT.new/.stagecraft-versions"
}

ensure_root() {
  if [ -f "$ROOT/.stagecraft-versions" ]; then
    [ "$REFRESH" = 1 ] || return 0
    lists_fresh && return 0
  fi
  update_forky_lists
  check_candidates
  if [ -f "$ROOT/.stagecraft-versions" ] && wanted_versions | cmp -s - "$ROOT/.stagecraft-versions"; then
    return 0
  fi
  unpack_candidates
  if [ -d "$ROOT" ]; then
    log "moving to $(tr '\n' ' ' <"$ROOT.new/.stagecraft-versions"); restarting the newest daemons"
    stop_instance stagecraft-newest
    stop_instance stagecraft-newest-cd
    rm -rf "$ROOT"
  fi
  mv "$ROOT.new" "$ROOT"
  mkdir -p "$CLI_CONFIG/cli-plugins"
  ln -sfn "$ROOT/usr/libexec/docker/cli-plugins/docker-buildx" "$CLI_CONFIG/cli-plugins/docker-buildx"
}

# ---------------------------------------------------------------- network
ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    # Refuse a subnet some other interface already routes.
    if ip -4 route show | grep -q "^$SUBNET\.0/24 "; then
      die "$SUBNET.0/24 is already routed ($(ip -4 route show | grep "^$SUBNET\.0/24 ")); pick another subnet"
    fi
    ip link add "$BRIDGE" type bridge
    ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # Outbound NAT and forwarding for this bridge only (the main dockerd set the
  # FORWARD policy to DROP). -C first: the rules are added once.
  local rule
  while read -r -a rule; do
    iptables -w "${rule[@]/#-A/-C}" 2>/dev/null || iptables -w "${rule[@]}"
  done <<EOF
-t nat -A POSTROUTING -s $SUBNET.0/24 ! -o $BRIDGE -j MASQUERADE
-t filter -A FORWARD -i $BRIDGE -j ACCEPT
-t filter -A FORWARD -o $BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
EOF
}

# ---------------------------------------------------------------- daemons
containerd_up() { "$ROOT/usr/bin/ctr" --address "$CTD_SOCKET" version >/dev/null 2>&1; }
docker_up() { "$NEW_DOCKER" -H "$HOST" info >/dev/null 2>&1; }

wait_for() { # wait_for CHECK PIDFILE COMM LOG
  local i
  for ((i = 0; i < WAIT_SECS * 4; i++)); do
    "$1" && return 0
    alive "$2" "$3" || break
    sleep 0.25
  done
  tail -n 30 "$4" >&2
  die "$3 of $INSTANCE did not come up (log: $4)"
}

ensure_containerd() {
  containerd_up && return 0
  mkdir -p "$CTD_ROOT" "$CTD_STATE"
  # Private everything; the CRI and NRI plugins (Kubernetes) are off, so no
  # socket or config of theirs appears outside these directories.
  cat >"$CTD_CONFIG" <<EOF
# Written by stagecraft scripts/e2e-newest-daemon.sh
version = 3
root = "$CTD_ROOT"
state = "$CTD_STATE"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime", "io.containerd.nri.v1.nri"]

[grpc]
  address = "$CTD_SOCKET"

[ttrpc]
  address = "$CTD_SOCKET.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTD_ROOT/opt"
EOF
  stop_process "$CTD_PIDFILE" containerd
  log "starting containerd $(awk '$1 == "containerd" { print $2 }' "$ROOT/.stagecraft-versions") for $INSTANCE (log: $CTD_LOG)"
  PATH=$DAEMON_PATH setsid nohup "$ROOT/usr/bin/containerd" --config "$CTD_CONFIG" \
    </dev/null >>"$CTD_LOG" 2>&1 9>&- &
  echo $! >"$CTD_PIDFILE"
  wait_for containerd_up "$CTD_PIDFILE" containerd "$CTD_LOG"
}

ensure_dockerd() {
  docker_up && return 0
  ensure_containerd
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  echo "$STORE_CONFIG" >"$DAEMON_CONFIG"
  alive "$PIDFILE" dockerd || rm -f "$PIDFILE"
  log "starting dockerd $(awk '$1 == "docker.io" { print $2 }' "$ROOT/.stagecraft-versions") as $INSTANCE (log: $LOG)"
  PATH=$DAEMON_PATH setsid nohup "$ROOT/usr/sbin/dockerd" --config-file "$DAEMON_CONFIG" \
    --containerd "$CTD_SOCKET" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" -H "$HOST" --bridge "$BRIDGE" --iptables=false --ip6tables=false \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local i
  # dockerd writes its pid file only after a moment; wait_for needs it.
  for ((i = 0; i < 40; i++)); do [ -f "$PIDFILE" ] && break; sleep 0.25; done
  wait_for docker_up "$PIDFILE" dockerd "$LOG"
}

# ---------------------------------------------------------------- images
# Copies the images whose id on the main daemon changed since the last copy.
copy_images() {
  local stamp=$BASE/$INSTANCE-images todo=() image id
  touch "$stamp"
  for image in "${IMAGES[@]}"; do
    id=$("$MAIN_DOCKER" image inspect -f '{{.Id}}' "$image" 2>/dev/null) ||
      die "the main daemon has no $image; run scripts/e2e-env.sh (and scripts/build-image.sh)"
    if ! grep -qx "$image $id" "$stamp" || ! "$NEW_DOCKER" -H "$HOST" image inspect "$image" >/dev/null 2>&1; then
      todo+=("$image")
    fi
  done
  [ ${#todo[@]} -eq 0 ] && return 0
  "$MAIN_DOCKER" save "${todo[@]}" | "$NEW_DOCKER" -H "$HOST" load -q >/dev/null ||
    die "cannot copy ${todo[*]} from the main daemon"
  for image in "${IMAGES[@]}"; do
    echo "$image $("$MAIN_DOCKER" image inspect -f '{{.Id}}' "$image")"
  done >"$stamp"
}

# ---------------------------------------------------------------- main
mkdir -p "$BASE"
ensure_root
ensure_bridge
ensure_dockerd
copy_images
if [ "$INSTANCE" = newest-cd ]; then
  # shellcheck source=scripts/lib/multiarch-busybox.sh
  . "$(dirname "$0")/lib/multiarch-busybox.sh"
  DOCKER_CONFIG=$CLI_CONFIG ensure_multiarch_busybox "$NEW_DOCKER" "$HOST"
fi
log "$INSTANCE ready: $(DOCKER_CONFIG=$CLI_CONFIG "$NEW_DOCKER" -H "$HOST" version --format \
  'dockerd {{.Server.Version}} (API {{.Server.APIVersion}})'), $(DOCKER_CONFIG=$CLI_CONFIG \
  "$NEW_DOCKER" buildx version | awk '{ print "buildx " $2 }'), containerd $("$ROOT/usr/bin/ctr" \
  --address "$CTD_SOCKET" version | awk '/Server:/ { s = 1 } s && $1 == "Version:" { print $2; exit }')"
echo "DOCKER=$NEW_DOCKER"
echo "DOCKER_HOST=$HOST"
echo "DOCKER_CONFIG=$CLI_CONFIG"
