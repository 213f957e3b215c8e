#!/usr/bin/env bash
# docker-down.sh — stop the dockerd that scripts/docker-up.sh started, and nothing else.
#
# Why: docker-up.sh starts a private dockerd (socket /run/drop-lab/docker.sock,
# pidfile /run/drop-lab/dockerd.pid) when no engine answers. This stops exactly
# that process, by the PID in its pidfile after checking the PID really is that
# dockerd, with a bounded wait (SIGTERM, then SIGKILL). An engine it did not
# start (a system dockerd on /var/run/docker.sock, a remote DOCKER_HOST) is never
# touched. Images and volumes stay in /var/cache/drop-lab/docker for next time.
#
# Environment knobs:
#   DOCKER_DOWN_TIMEOUT  seconds to wait after SIGTERM before SIGKILL (default 30)
#   DROP_LAB_RUN         runtime dir (default /run/drop-lab)
set -euo pipefail

RUN=${DROP_LAB_RUN:-/run/drop-lab}
SOCK=$RUN/docker.sock
PIDFILE=$RUN/dockerd.pid
TIMEOUT=${DOCKER_DOWN_TIMEOUT:-30}

log() { echo "docker-down: $*" >&2; }
die() { echo "docker-down: error: $*" >&2; exit 1; }

# True if $1 is alive and its command line is "dockerd ... <args>" containing $2.
is_proc() { # pid needle
    local cmd
    [[ $1 =~ ^[0-9]+$ && -r /proc/$1/cmdline ]] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$2"* ]]
}

wait_gone() { # pid seconds
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        (( SECONDS < deadline )) || return 1
        sleep 0.5
    done
}

if [[ ! -s $PIDFILE ]]; then
    log "no drop-lab dockerd is recorded ($PIDFILE missing); nothing to stop"
    exit 0
fi
pid=$(<"$PIDFILE")
if ! is_proc "$pid" "dockerd" || ! is_proc "$pid" "$SOCK"; then
    log "pid ${pid:-?} from $PIDFILE is not our dockerd (stale pidfile); nothing to stop"
    rm -f "$PIDFILE"
    exit 0
fi

# dockerd supervises its own containerd; note its PID to make sure it goes too.
ctd_pid=""
for f in "$RUN"/docker-exec/containerd/containerd.pid; do
    [[ -s $f ]] && ctd_pid=$(<"$f")
done

log "stopping dockerd (pid $pid; up to ${TIMEOUT}s)"
kill -TERM "$pid" 2>/dev/null || true
if ! wait_gone "$pid" "$TIMEOUT"; then
    log "dockerd still running after ${TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "dockerd (pid $pid) survived SIGKILL for 10 s"
fi
if [[ -n $ctd_pid ]] && is_proc "$ctd_pid" containerd; then
    if ! wait_gone "$ctd_pid" 10; then
        log "stopping its containerd (pid $ctd_pid)"
        kill -TERM "$ctd_pid" 2>/dev/null || true
        wait_gone "$ctd_pid" 10 || { kill -KILL "$ctd_pid" 2>/dev/null || true; }
    fi
fi
rm -f "$PIDFILE" "$SOCK"
log "stopped"
