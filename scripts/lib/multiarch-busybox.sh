# scripts/lib/multiarch-busybox.sh — sourced by the containerd-store daemon
# scripts (not run on its own). Needs `log` and `die` from the caller.
#
# ensure_multiarch_busybox DOCKER HOST: puts a two-platform busybox, linux/amd64
# and linux/386, into the local registry as
# 127.0.0.1:5000/stagecraft-e2e/busybox:multi (unless it is there), using the
# containerd-store daemon at HOST through the CLI DOCKER. The linux/386 one is
# Debian's i386 busybox-static (fetched once from the apt mirror); this amd64
# kernel runs its binaries natively.

MULTIARCH_REGISTRY=127.0.0.1:5000
MULTIARCH_REPO=stagecraft-e2e/busybox
MULTIARCH_DEB_CACHE=/var/cache/stagecraft/busybox-static-i386.deb

# Debian's i386 busybox-static, the same version as the amd64 one apt would
# install (the mirror's pool has both).
i386_busybox_deb() {
  [ -s "$MULTIARCH_DEB_CACHE" ] && return 0
  local url
  url=$(apt-get download --print-uris busybox-static 2>/dev/null | awk -F"'" 'NR == 1 { print $2 }')
  [ -n "$url" ] || die "apt knows no busybox-static; run scripts/e2e-env.sh first"
  url=${url%_amd64.deb}_i386.deb
  mkdir -p "$(dirname "$MULTIARCH_DEB_CACHE")"
  curl -sSf -o "$MULTIARCH_DEB_CACHE.tmp" "$url" || die "cannot download $url"
  mv "$MULTIARCH_DEB_CACHE.tmp" "$MULTIARCH_DEB_CACHE"
}

ensure_multiarch_busybox() {
  local docker=$1 host=$2
  local registry=$MULTIARCH_REGISTRY repo=$MULTIARCH_REPO
  local index=application/vnd.oci.image.index.v1+json
  if curl -sf -o /dev/null -H "Accept: $index" "http://$registry/v2/$repo/manifests/multi"; then
    return 0
  fi
  curl -sf -o /dev/null "http://$registry/v2/" || die "no registry at $registry; run scripts/e2e-env.sh"
  log "making $registry/$repo:multi (linux/amd64 + linux/386)"
  i386_busybox_deb
  local tmp; tmp=$(mktemp -d)
  dpkg-deb -x "$MULTIARCH_DEB_CACHE" "$tmp/deb"
  mkdir -p "$tmp/root/bin"
  cp "$tmp/deb/bin/busybox" "$tmp/root/bin/busybox"
  chroot "$tmp/root" /bin/busybox --install -s /bin
  tar -C "$tmp/root" -c . | "$docker" -H "$host" import --platform linux/386 \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$registry/$repo:386" >/dev/null
  rm -rf "$tmp"
  "$docker" -H "$host" tag busybox:latest "$registry/$repo:amd64"
  local arch
  for arch in amd64 386; do
    "$docker" -H "$host" push -q "$registry/$repo:$arch" >/dev/null
  done
  DOCKER_HOST=$host "$docker" buildx imagetools create -t "$registry/$repo:multi" \
    "$registry/$repo:amd64" "$registry/$repo:386" >/dev/null 2>&1 \
    || die "cannot push the manifest list $registry/$repo:multi"
}
