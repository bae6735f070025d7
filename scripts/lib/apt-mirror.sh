# scripts/lib/apt-mirror.sh — sourced by the e2e scripts (not run on its own).
#
# apt_uri_for_suite SUITE: print the first enabled "deb" URI serving SUITE,
# from deb822 *.sources files and one-line *.list files. We reuse the host's
# mirror for trixie, forky (scripts/e2e-newest-daemon.sh), debootstrap and the
# images' own apt sources: it is the only Debian host reachable here.
apt_uri_for_suite() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      function flush() {
        if (enabled && uris != "" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
          split(uris, u, " "); print u[1]; done = 1; exit
        }
        types = ""; uris = ""; suites = ""; enabled = 1
      }
      BEGIN { enabled = 1 }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      tolower($1) == "uris:"   { $1 = ""; uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "enabled:" && tolower($2) == "no" { enabled = 0 }
      END { if (!done) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # "deb [opts] URI SUITE COMPONENTS..." — drop the [opts] block first.
    sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
  done
}
