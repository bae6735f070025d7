#!/usr/bin/env bash
# scripts/e2e-env.sh — bring up the environment Stagecraft's end-to-end tests need:
#
#   * a real Docker daemon (dockerd 26.x with its embedded BuildKit 0.13) plus the
#     docker CLI and the buildx plugin, all from Debian trixie, running on this
#     Debian 12 machine without systemd;
#   * local base images, since no registry can be pulled from here:
#       debian:bookworm-slim (also tagged debian:bookworm) — debootstrap minbase
#       busybox:latest (also tagged busybox:1.35, its version) — busybox-static
#   * a local registry (Debian's docker-registry) on 127.0.0.1:5000, for cache
#     import/export tests. Started by default; pass --no-registry to skip it.
#
# Usage: scripts/e2e-env.sh [--no-registry] [--rebuild-images]
#
# Idempotent: every step first checks whether its result is already there, so a
# re-run on a machine that is already set up takes about a second. Needs root.
# Concurrent runs are serialised with a lock file.
#
# Use /usr/bin/docker (the trixie CLI, 26.x). /usr/local/bin/docker, which comes
# first on PATH on these machines, is a separate 28.x client that this script
# leaves alone; it also talks to the daemon and finds the same buildx plugin.
#
# Logs:  dockerd  -> /var/log/stagecraft-dockerd.log
#        registry -> /var/log/stagecraft-registry.log
#        apt, debootstrap -> /var/log/stagecraft-e2e-setup.log
# Caches: /var/cache/stagecraft (debootstrap rootfs), registry data in
#         /var/lib/stagecraft/registry.
#
# Images trust the host's CA bundle: outbound HTTPS here goes through an
# intercepting proxy whose CA the host trusts, so the host's bundle and extra
# CAs (/usr/local/share/ca-certificates) are copied into both images. Without
# that, `pip install` inside a RUN step fails certificate verification. On a
# machine without such a proxy this is just the ordinary Mozilla bundle.
set -euo pipefail

# ---------------------------------------------------------------- settings
DOCKER=/usr/bin/docker                       # trixie CLI; never /usr/local/bin/docker
DOCKERD_LOG=/var/log/stagecraft-dockerd.log
REGISTRY_LOG=/var/log/stagecraft-registry.log
SETUP_LOG=/var/log/stagecraft-e2e-setup.log
CACHE_DIR=/var/cache/stagecraft
STATE_DIR=/var/lib/stagecraft
REGISTRY_ADDR=127.0.0.1:5000
DOCKERD_WAIT_SECS=60
# Extra dockerd flags, if a machine ever needs them (e.g. "--storage-driver=vfs").
# The defaults (overlay2, bridge networking with iptables NAT) work here.
read -r -a DOCKERD_EXTRA_FLAGS <<<"${STAGECRAFT_DOCKERD_FLAGS:-}"

# Bump when the way a rootfs is built changes, so stale caches are not reused.
ROOTFS_RECIPE=1
DEBIAN_ROOTFS=$CACHE_DIR/rootfs/debian-bookworm-minbase-r$ROOTFS_RECIPE
BUSYBOX_ROOTFS=$CACHE_DIR/rootfs/busybox-r$ROOTFS_RECIPE

IMAGE_PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

WANT_REGISTRY=1
REBUILD_IMAGES=0
for arg in "$@"; do
  case $arg in
    --no-registry) WANT_REGISTRY=0 ;;
    --rebuild-images) REBUILD_IMAGES=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "e2e-env: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/daemonize.sh
. "$(dirname "$0")/lib/daemonize.sh"

log()  { echo "[e2e-env] $*" >&2; }
die()  { echo "[e2e-env] ERROR: $*" >&2; exit 1; }
# Run a noisy command with its output going to the setup log; show the tail on failure.
quiet() {
  if ! "$@" >>"$SETUP_LOG" 2>&1; then
    tail -n 30 "$SETUP_LOG" >&2
    die "command failed: $* (full log: $SETUP_LOG)"
  fi
}

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, starts dockerd)"
mkdir -p "$CACHE_DIR" "$STATE_DIR"

# Two test processes may call this at once; only one should install/start things.
# The daemons we start must not inherit fd 9 (they would hold the lock forever),
# hence the "9>&-" on their command lines.
exec 9>/var/lock/stagecraft-e2e-env.lock
flock -w 900 9 || die "another e2e-env.sh run holds /var/lock/stagecraft-e2e-env.lock"

# ---------------------------------------------------------------- apt mirror
# apt_uri_for_suite (scripts/lib/apt-mirror.sh): the host's mirror for a suite.
# shellcheck source=scripts/lib/apt-mirror.sh
. "$(dirname "$0")/lib/apt-mirror.sh"

MIRROR=$(apt_uri_for_suite bookworm | head -n1)
MIRROR=${MIRROR%/}
[ -n "$MIRROR" ] || die "no apt source for 'bookworm' found in /etc/apt/sources.list{,.d/*}"
SECURITY_MIRROR=$(apt_uri_for_suite bookworm-security | head -n1)
SECURITY_MIRROR=${SECURITY_MIRROR%/}

# ---------------------------------------------------------------- packages
# docker.io (dockerd 26.1 with BuildKit 0.13), docker-cli and docker-buildx come
# from trixie; bookworm's docker.io is 20.10, too old for a modern frontend. We
# name them as pkg/trixie instead of using `-t trixie`: -t would raise all of
# trixie to the target priority and apt would then upgrade libc6, apt, python3,
# systemd... The pkg/trixie form pulls from trixie only what those packages need
# (containerd 1.7); everything else, runc included, stays bookworm.
TRIXIE_PKGS=(docker.io docker-cli docker-buildx)
# openssh-client: ssh-agent for the `--ssh` test; iproute2: the second
# (containerd-store) daemon's bridge, scripts/e2e-containerd-daemon.sh; git:
# the daemons' git sources (BuildKit runs the host's git) and the git server
# of the remote-context tests and the repository e2e_convert serves for ADD.
BOOKWORM_PKGS=(iptables debootstrap busybox-static docker-registry ca-certificates curl procps
  openssh-client iproute2 graphviz git)

pkg_installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

ensure_packages() {
  local missing=() p
  for p in "${TRIXIE_PKGS[@]}" "${BOOKWORM_PKGS[@]}"; do
    pkg_installed "$p" || missing+=("$p")
  done
  # An old bookworm docker.io (20.10) counts as missing: we need 26.x.
  if pkg_installed docker.io && ! dpkg-query -W -f='${Version}' docker.io | grep -q '^2[6-9]\.'; then
    missing+=(docker.io)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0

  log "installing packages (missing: ${missing[*]}); apt output in $SETUP_LOG"
  # trixie source + pin at 100: nothing is taken from trixie unless asked for.
  cat >/etc/apt/sources.list.d/stagecraft-trixie.sources <<EOF
# Written by stagecraft scripts/e2e-env.sh: Docker 26 / buildx come from trixie.
Types: deb
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >/etc/apt/preferences.d/stagecraft-trixie <<'EOF'
# Written by stagecraft scripts/e2e-env.sh: never prefer trixie over bookworm.
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
  export DEBIAN_FRONTEND=noninteractive
  local wait_lock=(-o DPkg::Lock::Timeout=300)     # another apt may be running
  quiet apt-get "${wait_lock[@]}" update -q
  local args=() p
  for p in "${TRIXIE_PKGS[@]}"; do args+=("$p/trixie"); done
  # --no-install-recommends: skips apparmor, nftables, criu, needrestart, which a
  # daemon in a VM without systemd does not need.
  quiet apt-get "${wait_lock[@]}" install -y -q --no-install-recommends "${args[@]}" "${BOOKWORM_PKGS[@]}"
}

# ---------------------------------------------------------------- dockerd
docker_up() { "$DOCKER" info >/dev/null 2>&1; }

ensure_dockerd() {
  if docker_up; then return 0; fi
  # The Debian package ships an init script but invoke-rc.d does not start it
  # here (no init system), so we run dockerd ourselves.
  if ! pgrep -x dockerd >/dev/null; then
    # A pid file left by a dockerd that died (or a VM restart) makes dockerd
    # refuse to start if that pid now belongs to another process.
    if [ -f /var/run/docker.pid ]; then
      local oldpid; oldpid=$(cat /var/run/docker.pid 2>/dev/null || true)
      if [ -z "$oldpid" ] || [ "$(cat /proc/"$oldpid"/comm 2>/dev/null)" != dockerd ]; then
        rm -f /var/run/docker.pid
      fi
    fi
    log "starting dockerd (log: $DOCKERD_LOG)"
    echo "=== $(date -u +%FT%TZ) e2e-env.sh starting dockerd ${DOCKERD_EXTRA_FLAGS[*]}" >>"$DOCKERD_LOG"
    # setsid + nohup: the daemon must outlive this script and the CI step that
    # ran it. dockerd starts and manages its own containerd.
    daemonize "$DOCKERD_LOG" dockerd "${DOCKERD_EXTRA_FLAGS[@]}"
  else
    log "dockerd is running but not answering yet; waiting"
  fi
  local i why="did not answer within ${DOCKERD_WAIT_SECS}s"
  for ((i = 0; i < DOCKERD_WAIT_SECS * 4; i++)); do
    docker_up && { log "dockerd is up"; return 0; }
    # Died (bad flag, storage or iptables failure...): no point waiting.
    pgrep -x dockerd >/dev/null || { why="exited"; break; }
    sleep 0.25
  done
  # Show this attempt's part of the log only (from our last marker line).
  echo "----- $DOCKERD_LOG (this attempt, last 40 lines) -----" >&2
  awk '/^=== .* e2e-env.sh starting dockerd/ { n = NR } { l[NR] = $0 }
       END { s = (n ? n : 1); if (NR - s > 40) s = NR - 40; for (i = s; i <= NR; i++) print l[i] }' \
    "$DOCKERD_LOG" >&2 || true
  echo "-----" >&2
  die "dockerd $why. If storage or networking is the problem, retry with e.g." \
      "STAGECRAFT_DOCKERD_FLAGS='--storage-driver=vfs' or '--iptables=false --bridge=none'" \
      "(the latter cuts RUN steps off the network)."
}

# ---------------------------------------------------------------- base images
image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# Copy the host's trusted CAs into a rootfs (see header for why).
install_host_cas() {
  local root=$1
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  fi
  if [ -d /usr/local/share/ca-certificates ]; then
    # Picked up again by update-ca-certificates if a build installs ca-certificates.
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
}

build_debian_rootfs() {
  [ -f "$DEBIAN_ROOTFS/.stagecraft-complete" ] && return 0
  local tmp=$DEBIAN_ROOTFS.tmp
  rm -rf "$tmp"
  log "debootstrap bookworm (minbase) from $MIRROR (~30-60 s; log: $SETUP_LOG)"
  quiet debootstrap --variant=minbase bookworm "$tmp" "$MIRROR"

  # Make it look like the official debian:bookworm-slim (debuerreotype):
  # apt sources in deb822 form on the same mirror the host uses (the only one
  # reachable here), docker-friendly apt/dpkg settings, no caches, no docs.
  rm -f "$tmp/etc/apt/sources.list"
  {
    echo "Types: deb"
    echo "URIs: $MIRROR"
    echo "Suites: bookworm bookworm-updates"
    echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -n "$SECURITY_MIRROR" ]; then
      echo
      echo "Types: deb"
      echo "URIs: $SECURITY_MIRROR"
      echo "Suites: bookworm-security"
      echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } >"$tmp/etc/apt/sources.list.d/debian.sources"
  cat >"$tmp/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::GzipIndexes "true";' >"$tmp/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Acquire::Languages "none";' >"$tmp/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$tmp/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' >"$tmp/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$tmp/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# slim: keep docs, man pages and translations out of the image
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$tmp/usr/share/doc" -type f ! -name copyright -delete
  find "$tmp/usr/share/doc" -type d -empty -delete
  rm -rf "$tmp"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/cache/apt/*.bin "$tmp"/var/lib/apt/lists/*
  mkdir -p "$tmp/var/lib/apt/lists/partial"
  rm -f "$tmp/var/log/bootstrap.log"
  # Docker provides these at run time; do not bake in this host's values.
  rm -f "$tmp/etc/resolv.conf" "$tmp/etc/hostname"
  install_host_cas "$tmp"

  touch "$tmp/.stagecraft-complete"
  rm -rf "$DEBIAN_ROOTFS"
  mv "$tmp" "$DEBIAN_ROOTFS"
}

build_busybox_rootfs() {
  [ -f "$BUSYBOX_ROOTFS/.stagecraft-complete" ] && return 0
  local tmp=$BUSYBOX_ROOTFS.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,sbin,var/spool/mail,var/www}
  chmod 1777 "$tmp/tmp"
  cp /bin/busybox "$tmp/bin/busybox"      # busybox-static: no libraries needed
  # Like the official image: every applet in /bin. Runs in the rootfs so the
  # symlinks point at /bin/busybox inside the image.
  chroot "$tmp" /bin/busybox --install -s /bin
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$tmp/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
  install_host_cas "$tmp"
  touch "$tmp/.stagecraft-complete"
  rm -rf "$BUSYBOX_ROOTFS"
  mv "$tmp" "$BUSYBOX_ROOTFS"
}

# import_rootfs DIR TAG CMD-JSON: docker import with a config like the official image.
import_rootfs() {
  local dir=$1 tag=$2 cmd=$3
  log "importing $dir as $tag"
  tar -C "$dir" --numeric-owner --exclude=./.stagecraft-complete \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    "$DOCKER" import -c "$IMAGE_PATH_ENV" -c "CMD $cmd" - "$tag" >/dev/null
}

ensure_images() {
  if [ "$REBUILD_IMAGES" = 1 ]; then
    rm -rf "$DEBIAN_ROOTFS" "$BUSYBOX_ROOTFS"
    "$DOCKER" image rm -f debian:bookworm-slim debian:bookworm busybox:latest busybox:1.35 >/dev/null 2>&1 || true
  fi
  if ! image_exists debian:bookworm-slim; then
    build_debian_rootfs
    import_rootfs "$DEBIAN_ROOTFS" debian:bookworm-slim '["bash"]'
  fi
  # The full image would be ~50 MB bigger for nothing our tests use; the slim
  # one under the other name is enough.
  image_exists debian:bookworm || "$DOCKER" tag debian:bookworm-slim debian:bookworm
  if ! image_exists busybox:latest; then
    build_busybox_rootfs
    import_rootfs "$BUSYBOX_ROOTFS" busybox:latest '["sh"]'
  fi
  # Bookworm's busybox-static is 1.35. Examples name that version, as the
  # linter's UnpinnedImage rule asks, and as Docker Hub's busybox has it.
  image_exists busybox:1.35 || "$DOCKER" tag busybox:latest busybox:1.35
}

# ---------------------------------------------------------------- registry
registry_up() { curl -fs -o /dev/null --max-time 2 "http://$REGISTRY_ADDR/v2/"; }

ensure_registry() {
  local conf=$STATE_DIR/registry.yml
  mkdir -p "$STATE_DIR/registry"
  # No auth, loopback only; dockerd treats 127.0.0.0/8 registries as insecure
  # (plain HTTP) by default, so pushes to 127.0.0.1:5000/... just work.
  cat >"$conf.new" <<EOF
# Written by stagecraft scripts/e2e-env.sh
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  mv "$conf.new" "$conf"
  registry_up && return 0
  log "starting docker-registry on $REGISTRY_ADDR (log: $REGISTRY_LOG)"
  daemonize "$REGISTRY_LOG" docker-registry serve "$conf"
  local i
  for ((i = 0; i < 40; i++)); do
    registry_up && return 0
    sleep 0.25
  done
  tail -n 20 "$REGISTRY_LOG" >&2 || true
  die "docker-registry did not answer on http://$REGISTRY_ADDR/v2/ (see $REGISTRY_LOG)"
}

# ---------------------------------------------------------------- main
start=$SECONDS
ensure_packages
ensure_dockerd
ensure_images
if [ "$WANT_REGISTRY" = 1 ]; then ensure_registry; fi

log "ready in $((SECONDS - start))s: dockerd $("$DOCKER" version --format '{{.Server.Version}}')," \
    "$("$DOCKER" buildx version | awk '{print "buildx " $2}')," \
    "images: debian:bookworm-slim debian:bookworm busybox:latest busybox:1.35$([ "$WANT_REGISTRY" = 1 ] && echo ", registry: $REGISTRY_ADDR")"
