# shellcheck shell=bash
# daemonize LOG CMD ARGS…: runs CMD as a daemon that outlives the calling
# script: its own session, no stdin, output appended to LOG, and none of the
# caller's other open files. The last matters: a lock held by whoever ran
# the script (`flock FILE make test`) would otherwise be inherited by the
# daemon and held for as long as it runs, blocking every later locker.
daemonize() {
  local log=$1
  shift
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid nohup "$@" </dev/null >>"$log" 2>&1
  ) &
}
