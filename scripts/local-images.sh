#!/usr/bin/env bash
# local-images.sh — build every container image the lab stack needs, from package
# registries only, and tag them under local drop-lab/* names.
#
# Why: this project's machines reach Debian's archive, crates.io, the Go module
# proxy (and a few other package registries) but NO container registry, so
# `docker pull jaegertracing/jaeger` or `FROM rust:...` cannot work. Instead:
#   * drop-lab/debian:bookworm-slim   runtime base: debootstrap --variant=minbase
#                                     rootfs (same Debian mirror as this machine's
#                                     apt), `docker import`ed
#   * drop-lab/debian-build:bookworm  the same plus gcc, libc6-dev, make,
#                                     pkg-config, libssl-dev, ca-certificates
#                                     (internal: base of the Rust builder)
#   * drop-lab/rust:<ver>-bookworm    builder: debian-build + THIS machine's rustup
#                                     toolchain in /usr/local/rust
#   * drop-lab/jaeger:2.12.0-src      Jaeger v2 (Go module jaeger v1.75.0) built
#                                     with Go, FROM scratch + busybox-static
#   * drop-lab/toxiproxy:2.12.0-src   Toxiproxy v2.12.0 built with Go, FROM scratch
# Each image carries the label org.drop-lab.inputs=<hash of its inputs> and is
# rebuilt only when missing or when that hash changes, so a warm second run takes
# seconds. Every cache (Go modules and build cache, debootstrap .debs, rootfs
# tarballs, Docker's data root) lives under /var/cache/drop-lab, outside the clone.
# Ends by writing build/local-images.env (JAEGER_IMAGE=..., TOXIPROXY_IMAGE=...,
# BUILDER_IMAGE=..., RUNTIME_IMAGE=...) and printing one timing line per image.
#
# Needs root. Starts/reuses the engine via scripts/docker-up.sh; installs
# debootstrap with apt if missing; needs Go >= 1.24 (the machine's /usr/local/go).
# Usage: scripts/local-images.sh [--force]   (--force: rebuild everything)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${DROP_LAB_CACHE:-/var/cache/drop-lab}
# Bumping this invalidates every image (change it when the recipe changes in a
# way the hashed inputs below do not capture).
RECIPE=1

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_MOD_VERSION=v1.75.0 # Go module tag of Jaeger v2.12.0
JAEGER_VERSION=2.12.0
TOXIPROXY_MODULE=github.com/Shopify/toxiproxy/v2
TOXIPROXY_VERSION=2.12.0
SUITE=bookworm
BUILD_PKGS=gcc,libc6-dev,make,pkg-config,libssl-dev,ca-certificates

RUNTIME_TAG=drop-lab/debian:bookworm-slim
BUILDBASE_TAG=drop-lab/debian-build:bookworm
JAEGER_TAG=drop-lab/jaeger:$JAEGER_VERSION-src
TOXIPROXY_TAG=drop-lab/toxiproxy:$TOXIPROXY_VERSION-src
LABEL=org.drop-lab.inputs

STEP_TIMEOUT=${LOCAL_IMAGES_STEP_TIMEOUT:-2700} # bound for each long step (s)

log() { echo "local-images: $*" >&2; }
die() { echo "local-images: error: $*" >&2; exit 1; }

FORCE=0
case ${1:-} in
    "") ;;
    --force) FORCE=1 ;;
    *) die "unknown argument '$1' (usage: $0 [--force])" ;;
esac

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, docker)"
mkdir -p "$CACHE"/{go/mod,go/build,go/tools,go/bin,rootfs,debs,debootstrap-debs,ctx,logs}
exec 8>"$CACHE/local-images.lock"
flock -w 1800 8 || die "another local-images.sh has held $CACHE/local-images.lock for 30 min"

# --- engine -----------------------------------------------------------------
host_line=$("$HERE/docker-up.sh") || die "scripts/docker-up.sh could not provide a Docker engine"
export "${host_line?}"
export DOCKER_BUILDKIT=0 # engine 20.10 + no buildx plugin: the classic builder

# --- helpers ----------------------------------------------------------------
hash_of() { sha256sum | cut -c1-16; } # stdin -> short hash
image_label() { docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }
fresh() { (( ! FORCE )) && [[ $(image_label "$1") == "$2" ]]; } # tag hash
declare -a REPORT=()
report() { REPORT+=("$(printf '%-34s %s' "$1" "$2")"); }

apt_lists_ok() { [[ $(apt-cache policy "$1" 2>/dev/null) == *"Candidate: "[0-9]* ]]; } # (no grep -q: SIGPIPE + pipefail)
apt_refresh_if_needed() { # pkg...
    local p
    for p in "$@"; do
        if ! apt_lists_ok "$p"; then
            log "apt-get update"
            timeout 600 apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 update -qq >&2 || true
            return
        fi
    done
}
apt_ensure_cmd() { # command package
    command -v "$1" >/dev/null 2>&1 && return
    apt_refresh_if_needed "$2"
    log "apt-get install $2"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 \
        install -y -qq --no-install-recommends "$2" >&2 || die "apt-get install $2 failed"
    command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}
apt_candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }

# Mirror this machine's apt uses for Debian itself (deb822 or one-line format).
debian_mirror() {
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '
          /^[[:space:]]*#/ {next}
          /^deb[[:space:]]/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } ; next }
          /^URIs:/ { for (i=2;i<=NF;i++) print $i }' |
        grep -E '/debian/?$' | head -n1) || true
    echo "${m%/}"
}
MIRROR=${DEBIAN_MIRROR:-$(debian_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${MIRROR%/debian}/debian-security

unmount_under() { # dir: lazily unmount anything debootstrap left mounted below it
    local d=$1 m
    [[ -d $d ]] || return 0
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
        awk -v d="$d/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
}

# The CA certificates this machine trusts beyond Debian's bundle (e.g. an
# egress proxy's CA): copied into the builder rootfs so cargo/apt inside
# `docker build` trust the same TLS endpoints the host does.
local_cas() { find /usr/local/share/ca-certificates -type f -name '*.crt' 2>/dev/null | sort; }

# debootstrap a minbase rootfs into a cached tarball; prints the tarball path.
rootfs_tarball() { # name include-list hash
    local name=$1 include=$2 hash=$3
    local tarball=$CACHE/rootfs/$name-$hash.tar dir=$CACHE/rootfs/$name.tmp
    if [[ -s $tarball ]]; then echo "$tarball"; return; fi
    apt_ensure_cmd debootstrap debootstrap
    unmount_under "$dir"; rm -rf --one-file-system "$dir"
    local logf=$CACHE/logs/debootstrap-$name.log
    log "debootstrap $SUITE ($name) from $MIRROR (log $logf)"
    if ! timeout "$STEP_TIMEOUT" debootstrap --variant=minbase ${include:+--include="$include"} \
            --cache-dir="$CACHE/debootstrap-debs" "$SUITE" "$dir" "$MIRROR" >"$logf" 2>&1; then
        tail -n 15 "$logf" >&2
        unmount_under "$dir"
        die "debootstrap of $name failed; see $logf"
    fi
    unmount_under "$dir"
    # apt sources inside the image: same mirror, with updates and security.
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    if [[ $include == *ca-certificates* ]]; then
        local ca
        while read -r ca; do
            [[ -n $ca ]] && cp "$ca" "$dir/usr/local/share/ca-certificates/"
        done < <(local_cas)
        chroot "$dir" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the $name rootfs"
    fi
    # Slim down: no package lists/caches; /dev is provided by the runtime.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
           "$dir"/var/log/* "$dir"/dev/* "$dir"/tmp/* "$dir"/run/*
    : >"$dir/etc/hostname"
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" . || die "tar of the $name rootfs failed"
    mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$dir"
    # Drop tarballs of older recipes.
    find "$CACHE/rootfs" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$hash.tar" -delete
    echo "$tarball"
}

import_rootfs() { # tag name include-list hash
    local tag=$1 name=$2 include=$3 hash=$4 tarball
    tarball=$(rootfs_tarball "$name" "$include" "$hash")
    log "docker import $tarball -> $tag"
    timeout "$STEP_TIMEOUT" docker import \
        --change "LABEL $LABEL=$hash" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        "$tarball" "$tag" >/dev/null || die "docker import of $tag failed"
}

docker_build() { # name tag hash context [extra docker build args...]
    local name=$1 tag=$2 hash=$3 ctx=$4; shift 4
    local logf=$CACHE/logs/build-$name.log
    log "docker build $tag (log $logf)"
    if ! timeout "$STEP_TIMEOUT" docker build --network none -f "$ROOT/images/$name/Dockerfile" \
            --label "$LABEL=$hash" -t "$tag" "$@" "$ctx" >"$logf" 2>&1; then
        tail -n 15 "$logf" >&2
        die "docker build of $tag failed; see $logf"
    fi
}

go_env() {
    command -v go >/dev/null 2>&1 || die "go not found (this machine kind ships Go in /usr/local/go)"
    local v
    v=$(go env GOVERSION); v=${v#go}
    [[ $v =~ ^1\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 24 )) || die "Go >= 1.24 needed for 'go get -tool' (found $v)"
    export GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOPATH=$CACHE/go/path
    export CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw"
}

# Build Go commands as tools of a throwaway module (works for modules that
# `go install pkg@version` refuses because of replace directives).
go_tool_build() { # name module version out:pkg ... -- ldflags
    local name=$1 module=$2 version=$3; shift 3
    local dir=$CACHE/go/tools/$name-$version
    local -a pairs=(); while [[ $1 != -- ]]; do pairs+=("$1"); shift; done; shift
    local ldflags=$1 pair out pkg
    mkdir -p "$dir"
    (
        cd "$dir"
        [[ -f go.mod ]] || go mod init "drop-lab.local/$name-tools" >/dev/null 2>&1
        for pair in "${pairs[@]}"; do
            pkg=${pair#*:}
            grep -q "^tool $pkg\$\|^[[:space:]]$pkg\$" go.mod ||
                timeout "$STEP_TIMEOUT" go get -tool "$pkg@$version" >&2 || exit 11
        done
        for pair in "${pairs[@]}"; do
            out=${pair%%:*}; pkg=${pair#*:}
            timeout "$STEP_TIMEOUT" go build -trimpath -ldflags "$ldflags" -o "$out" "$pkg" >&2 || exit 12
        done
    ) || die "go build of $name $module@$version failed (module dir $dir)"
}

# --- 1. runtime base --------------------------------------------------------
t0=$SECONDS
RUNTIME_HASH=$(printf '%s\n' "$RECIPE" runtime "$SUITE" "$MIRROR" minbase | hash_of)
if fresh "$RUNTIME_TAG" "$RUNTIME_HASH"; then report "$RUNTIME_TAG" cached
else import_rootfs "$RUNTIME_TAG" runtime "" "$RUNTIME_HASH"; report "$RUNTIME_TAG" "$((SECONDS - t0)) s"; fi

# --- 2. Rust builder --------------------------------------------------------
t0=$SECONDS
SYSROOT=$(rustc --print sysroot 2>/dev/null) || die "rustc not found (rustup toolchain expected in ~/.rustup)"
RUST_VERSION=$(rustc -vV | awk '/^release:/ {print $2}')
BUILDER_TAG=drop-lab/rust:$RUST_VERSION-$SUITE
BUILDBASE_HASH=$( { printf '%s\n' "$RECIPE" build "$SUITE" "$MIRROR" "$BUILD_PKGS"; local_cas | xargs -r cat; } | hash_of)
if ! fresh "$BUILDBASE_TAG" "$BUILDBASE_HASH"; then
    import_rootfs "$BUILDBASE_TAG" build "$BUILD_PKGS" "$BUILDBASE_HASH"
fi
# What is copied from the sysroot: everything but the HTML docs.
sysroot_files() { (cd "$SYSROOT" && find . -path ./share/doc -prune -o \( -type f -o -type l \) -printf '%P %s %T@\n' | sort); }
BUILDER_HASH=$( { printf '%s\n' "$RECIPE" "$BUILDBASE_HASH"; rustc -vV; cargo -V;
                  cat "$ROOT/images/rust/Dockerfile"; sysroot_files; } | hash_of)
if fresh "$BUILDER_TAG" "$BUILDER_HASH"; then report "$BUILDER_TAG" cached
else
    ctx=$CACHE/ctx/rust; rm -rf "$ctx"; mkdir -p "$ctx"
    # Hard links where possible (same filesystem): no 600 MB copy.
    cp -al "$SYSROOT" "$ctx/rust" 2>/dev/null || { rm -rf "$ctx/rust"; cp -a "$SYSROOT" "$ctx/rust"; } ||
        die "could not stage the Rust toolchain from $SYSROOT"
    rm -rf "$ctx/rust/share/doc"
    docker_build rust "$BUILDER_TAG" "$BUILDER_HASH" "$ctx" --build-arg BASE="$BUILDBASE_TAG"
    rm -rf "$ctx"
    report "$BUILDER_TAG" "$((SECONDS - t0)) s"
fi

# --- 3. Toxiproxy -----------------------------------------------------------
t0=$SECONDS
TOXIPROXY_HASH=$( { printf '%s\n' "$RECIPE" "$TOXIPROXY_MODULE" "$TOXIPROXY_VERSION" "$(go env GOVERSION 2>/dev/null)";
                    cat "$ROOT/images/toxiproxy/Dockerfile"; } | hash_of)
if fresh "$TOXIPROXY_TAG" "$TOXIPROXY_HASH"; then report "$TOXIPROXY_TAG" cached
else
    go_env
    ctx=$CACHE/ctx/toxiproxy; rm -rf "$ctx"; mkdir -p "$ctx"
    log "go build toxiproxy v$TOXIPROXY_VERSION"
    go_tool_build toxiproxy "$TOXIPROXY_MODULE" "v$TOXIPROXY_VERSION" \
        "$ctx/toxiproxy:$TOXIPROXY_MODULE/cmd/server" "$ctx/toxiproxy-cli:$TOXIPROXY_MODULE/cmd/cli" -- \
        "-s -w -X $TOXIPROXY_MODULE.Version=$TOXIPROXY_VERSION"
    docker_build toxiproxy "$TOXIPROXY_TAG" "$TOXIPROXY_HASH" "$ctx"
    rm -rf "$ctx"
    report "$TOXIPROXY_TAG" "$((SECONDS - t0)) s"
fi

# --- 4. Jaeger --------------------------------------------------------------
t0=$SECONDS
apt_refresh_if_needed busybox-static
BUSYBOX_VERSION=$(apt_candidate busybox-static)
[[ -n $BUSYBOX_VERSION && $BUSYBOX_VERSION != "(none)" ]] || die "no busybox-static package candidate in apt"
JAEGER_HASH=$( { printf '%s\n' "$RECIPE" "$JAEGER_MODULE" "$JAEGER_MOD_VERSION" "$(go env GOVERSION 2>/dev/null)" "$BUSYBOX_VERSION";
                 cat "$ROOT/images/jaeger/Dockerfile"; } | hash_of)
if fresh "$JAEGER_TAG" "$JAEGER_HASH"; then report "$JAEGER_TAG" cached
else
    go_env
    ctx=$CACHE/ctx/jaeger; rm -rf "$ctx"; mkdir -p "$ctx/rootfs/cmd/jaeger" "$ctx/rootfs/bin" "$ctx/rootfs/tmp"
    chmod 1777 "$ctx/rootfs/tmp"
    # busybox: sh, wget, ... for the compose healthcheck (and debugging).
    # One directory per candidate version: apt-get download names an epoch
    # "1%3a", so the file name is not worth guessing.
    debdir=$CACHE/debs/busybox-static-${BUSYBOX_VERSION//:/_}
    deb=$(find "$debdir" -maxdepth 1 -name 'busybox-static_*.deb' -print -quit 2>/dev/null || true)
    if [[ -z $deb ]]; then
        mkdir -p "$debdir"
        (cd "$debdir" && timeout 600 apt-get download -qq "busybox-static=$BUSYBOX_VERSION" >&2) ||
            die "apt-get download busybox-static=$BUSYBOX_VERSION failed"
        deb=$(find "$debdir" -maxdepth 1 -name 'busybox-static_*.deb' -print -quit)
        [[ -n $deb ]] || die "busybox-static $BUSYBOX_VERSION .deb not found after download"
    fi
    bbx=$(mktemp -d); dpkg-deb -x "$deb" "$bbx"
    cp "$bbx/bin/busybox" "$ctx/rootfs/bin/busybox"; rm -rf "$bbx"
    for applet in $("$ctx/rootfs/bin/busybox" --list); do
        [[ $applet == busybox ]] || ln -sf busybox "$ctx/rootfs/bin/$applet"
    done
    log "go build jaeger $JAEGER_MOD_VERSION (Jaeger v$JAEGER_VERSION; slow: ~1000 packages)"
    # Jaeger's own go.mod replaces sarama; replace directives of a dependency are
    # ignored, so repeat it here to build what upstream builds.
    mkdir -p "$CACHE/go/tools/jaeger-$JAEGER_MOD_VERSION"
    if [[ ! -f $CACHE/go/tools/jaeger-$JAEGER_MOD_VERSION/go.mod ]]; then
        (cd "$CACHE/go/tools/jaeger-$JAEGER_MOD_VERSION" && go mod init drop-lab.local/jaeger-tools >/dev/null 2>&1 &&
         go mod edit -replace github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0) ||
            die "could not create the Jaeger tool module"
    fi
    info=$GOMODCACHE/cache/download/github.com/jaegertracing/jaeger/@v/$JAEGER_MOD_VERSION.info
    go_tool_build jaeger "$JAEGER_MODULE" "$JAEGER_MOD_VERSION" \
        "$ctx/rootfs/cmd/jaeger/jaeger-linux:$JAEGER_MODULE/cmd/jaeger" -- \
        "-s -w -X $JAEGER_MODULE/internal/version.latestVersion=v$JAEGER_VERSION -X $JAEGER_MODULE/internal/version.commitSHA=module-$JAEGER_MOD_VERSION -X $JAEGER_MODULE/internal/version.date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null)"
    docker_build jaeger "$JAEGER_TAG" "$JAEGER_HASH" "$ctx"
    rm -rf "$ctx"
    report "$JAEGER_TAG" "$((SECONDS - t0)) s"
fi

# --- results ----------------------------------------------------------------
# No `docker image prune` here: images built FROM ours inherit their label,
# and the lab image's builder-stage layers (its DataFusion build cache) are
# untagged leaves that a prune by label would delete, costing every later
# `make lab` a 10-minute rebuild. Old builds of our tags are rare (a recipe
# change) and cost disk only; `docker image prune` by hand removes them.
mkdir -p "$ROOT/build"
cat >"$ROOT/build/local-images.env" <<EOF
# Written by scripts/local-images.sh — local image tags for docker-compose.
JAEGER_IMAGE=$JAEGER_TAG
TOXIPROXY_IMAGE=$TOXIPROXY_TAG
BUILDER_IMAGE=$BUILDER_TAG
RUNTIME_IMAGE=$RUNTIME_TAG
EOF
for line in "${REPORT[@]}"; do echo "$line"; done
log "wrote build/local-images.env; engine: $host_line"
