#!/usr/bin/env bash
# docker-up.sh — make sure a Docker engine answers, starting a private one if needed.
#
# Why: the lab stack (Jaeger, Toxiproxy, the lab itself) runs under docker-compose,
# but the development/CI machines of this project ship only the docker *client*:
# no engine runs and no container registry is reachable. This script
#   1. reuses any engine that already answers (current DOCKER_HOST, or the default
#      socket), or the drop-lab dockerd started by an earlier call;
#   2. otherwise installs Debian's docker.io (engine 20.10, containerd, runc,
#      iptables) and docker-compose (1.29, the v1 CLI) with apt if they are missing,
#      and starts dockerd by hand in the background with its data under
#      /var/cache/drop-lab/docker (kept between runs, so images stay warm) and its
#      socket at /run/drop-lab/docker.sock;
#   3. waits for it (bounded) and prints ONE line on stdout:
#        DOCKER_HOST=unix:///run/drop-lab/docker.sock
#      so callers can do:  export "$(scripts/docker-up.sh)"
#      All diagnostics go to stderr.
# Idempotent: a second call with our dockerd running just prints the line again.
# Stop it with scripts/docker-down.sh (only ever stops the dockerd started here).
#
# Environment knobs:
#   DOCKER_UP_TIMEOUT   seconds to wait for dockerd to answer (default 60)
#   DROP_LAB_CACHE      cache root (default /var/cache/drop-lab)
#   DROP_LAB_RUN        runtime dir (default /run/drop-lab)
set -euo pipefail

CACHE=${DROP_LAB_CACHE:-/var/cache/drop-lab}
RUN=${DROP_LAB_RUN:-/run/drop-lab}
SOCK=$RUN/docker.sock
OUR_HOST=unix://$SOCK
PIDFILE=$RUN/dockerd.pid
LOG=$RUN/dockerd.log
TIMEOUT=${DOCKER_UP_TIMEOUT:-60}

log() { echo "docker-up: $*" >&2; }
die() { echo "docker-up: error: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts dockerd)"

# docker info against a given host, bounded so a wedged daemon cannot hang us.
engine_answers() { # $1 = DOCKER_HOST value ("" = client default)
    command -v docker >/dev/null 2>&1 || return 1
    if [[ -n $1 ]]; then
        DOCKER_HOST=$1 timeout 15 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
    else
        (unset DOCKER_HOST; timeout 15 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1)
    fi
}

# PID from our pidfile if that process is alive and is a dockerd; else empty.
our_dockerd_pid() {
    local pid
    [[ -s $PIDFILE ]] || return 0
    pid=$(<"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    [[ -r /proc/$pid/cmdline ]] || return 0
    local cmd
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
    [[ $cmd == *dockerd*"$SOCK"* ]] || return 0
    echo "$pid"
}

# Install Debian packages, running apt-get update only when a package has no
# candidate or the install fails (stale lists). Never lets the packages start
# their own services: on machines without a policy-rc.d we add a temporary one.
apt_install() {
    local pkgs=("$@") need_update=0 p added_policy=0
    for p in "${pkgs[@]}"; do
        if [[ $(apt-cache policy "$p" 2>/dev/null) != *"Candidate: "[0-9]* ]]; then need_update=1; fi
    done
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
    local rc=0
    {
        if (( need_update )); then log "apt-get update"; timeout 600 "${apt[@]}" update -qq >&2 || true; fi
        log "apt-get install ${pkgs[*]}"
        if ! DEBIAN_FRONTEND=noninteractive timeout 900 "${apt[@]}" install -y -qq --no-install-recommends "${pkgs[@]}" >&2; then
            log "install failed; refreshing package lists and retrying once"
            timeout 600 "${apt[@]}" update -qq >&2 || true
            DEBIAN_FRONTEND=noninteractive timeout 900 "${apt[@]}" install -y -qq --no-install-recommends "${pkgs[@]}" >&2 || rc=$?
        fi
    }
    if (( added_policy )); then rm -f /usr/sbin/policy-rc.d; fi
    (( rc == 0 )) || die "apt-get install ${pkgs[*]} failed (exit $rc)"
}

ensure_compose() {
    command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
}

print_host() { echo "DOCKER_HOST=$1"; }

# Close every inherited fd above 2 in the current (sub)shell.
close_fds() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

# 1. An engine that already answers: the caller's DOCKER_HOST, then the default socket.
if [[ -n ${DOCKER_HOST:-} ]] && engine_answers "$DOCKER_HOST"; then
    ensure_compose
    log "reusing the engine at $DOCKER_HOST"
    print_host "$DOCKER_HOST"; exit 0
fi
if [[ ${DOCKER_HOST:-} != "$OUR_HOST" ]] && engine_answers ""; then
    ensure_compose
    log "reusing the engine at the default socket"
    print_host "unix:///var/run/docker.sock"; exit 0
fi

mkdir -p "$RUN" "$CACHE/docker"
exec 9>"$RUN/docker-up.lock"
flock -w 120 9 || die "another docker-up.sh holds $RUN/docker-up.lock for over 120 s"

# 2. Our own dockerd from an earlier call (maybe still starting).
pid=$(our_dockerd_pid)
if [[ -z $pid ]]; then
    rm -f "$PIDFILE"
    missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    # dockerd needs iptables (NAT/forwarding for bridge networks) — a docker.io
    # dependency, listed so a half-removed install is repaired too.
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    if (( ${#missing[@]} )); then apt_install "${missing[@]}"; fi
    command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"

    # A stale socket from a dead dockerd would make the wait below succeed too early.
    rm -f "$SOCK"
    # Our own (empty) daemon config file, so an /etc/docker/daemon.json from somewhere
    # else cannot clash with the flags below.
    echo '{}' >"$RUN/daemon.json"
    # Containers' MTU must not exceed the uplink's, or TLS downloads from inside
    # containers (docker build on the default bridge) can stall.
    mtu_args=()
    uplink=$(ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}') || true
    if [[ -n $uplink && -r /sys/class/net/$uplink/mtu ]]; then
        mtu=$(</sys/class/net/"$uplink"/mtu)
        if (( mtu < 1500 )); then mtu_args=(--mtu "$mtu"); fi
    fi
    log "starting dockerd (data-root $CACHE/docker, log $LOG)"
    { echo "=== $(date -Is) docker-up.sh starting dockerd"; } >>"$LOG"
    # setsid: own session, so it outlives the caller's shell / process group.
    # close_fds: dockerd must not inherit our lock fd (or a caller's), or it would
    # hold that flock for as long as it runs.
    ( close_fds; exec setsid dockerd \
        --config-file "$RUN/daemon.json" \
        --data-root "$CACHE/docker" \
        --exec-root "$RUN/docker-exec" \
        --pidfile "$PIDFILE" \
        -H "$OUR_HOST" \
        --storage-driver overlay2 \
        "${mtu_args[@]}" \
        >>"$LOG" 2>&1 </dev/null ) &
    launcher=$!
else
    log "dockerd from an earlier call is running (pid $pid)"
    launcher=$pid
fi

# 3. Wait, bounded, for it to answer.
deadline=$((SECONDS + TIMEOUT))
until engine_answers "$OUR_HOST"; do
    if ! kill -0 "$launcher" 2>/dev/null; then
        tail -n 15 "$LOG" >&2 || true
        die "dockerd exited during start-up; see $LOG"
    fi
    if (( SECONDS >= deadline )); then
        tail -n 15 "$LOG" >&2 || true
        die "dockerd did not answer on $SOCK within ${TIMEOUT}s; see $LOG (still running: stop it with scripts/docker-down.sh)"
    fi
    sleep 1
done
log "engine up: $(DOCKER_HOST=$OUR_HOST docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null || echo '?')"
print_host "$OUR_HOST"
