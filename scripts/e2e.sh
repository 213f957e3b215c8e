#!/usr/bin/env bash
# e2e.sh — the lab end to end, the way users run it, graded independently.
#
# 1. a Docker engine (scripts/docker-up.sh: the running one, or a private one);
# 2. the stack's images, from package registries only (scripts/local-images.sh),
#    unless E2E_IMAGES=registry (use JAEGER_IMAGE etc. or the official images);
# 3. for each latency and query: `make lab` — the same Makefile target, compose
#    file and Dockerfile a user runs — under its own compose project and ports,
#    so it never touches a stack a user has running;
# 5. scripts/e2e_check.py grades the JSON results with the physics and asks
#    Jaeger's query API itself for every run's spans.
# The stack is torn down at the end, on failure too, after printing the
# containers' logs when something failed. The engine is left running (stop it
# with `make docker-down`; .ci/run does).
#
# 4. `make compare` (affected vs fixed release) at the same latencies, and
#    `make scenario` for the outage and overflow failure modes, briefly.
# Knobs: E2E_LATENCIES ("0 100"), E2E_QUERIES ("seed report"), E2E_REPEAT (2),
#        E2E_SCENARIOS ("outage overflow"), E2E_SCENARIO_LATENCY (100),
#        E2E_JAEGER_PORT (26686),
#        E2E_TOXIPROXY_PORT (28474), E2E_IMAGES (local).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LATENCIES=${E2E_LATENCIES:-"0 100"}
QUERIES=${E2E_QUERIES:-"seed report"}
REPEAT=${E2E_REPEAT:-2}
SCENARIOS=${E2E_SCENARIOS:-"outage overflow"}
SCENARIO_LATENCY=${E2E_SCENARIO_LATENCY:-100}
export COMPOSE_PROJECT_NAME=drop-lab-e2e
export JAEGER_UI_PORT=${E2E_JAEGER_PORT:-26686}
export TOXIPROXY_API_PORT=${E2E_TOXIPROXY_PORT:-28474}
OUT=results/e2e

log() { echo "e2e: $*" >&2; }
declare -a TIMES=()
took() { TIMES+=("$(printf '%-28s %4d s' "$1" $((SECONDS - $2)))"); } # label start

t0=$SECONDS
host_line=$(scripts/docker-up.sh)
export "${host_line?}"
took "docker engine" "$t0"

if [[ ${E2E_IMAGES:-local} == local ]]; then
    t0=$SECONDS
    scripts/local-images.sh
    took "local images (all)" "$t0"
    # The Makefile reads build/local-images.env itself; the compose calls
    # below (the timed image build, logs, down) need the same tags. A tag
    # the caller set still wins, as in the Makefile.
    while IFS='=' read -r key value; do
        if [[ $key =~ ^[A-Z_]+$ && -z ${!key:-} ]]; then export "$key=$value"; fi
    done < build/local-images.env
fi

COMPOSE=$(docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
status=1
cleanup() {
    if (( status != 0 )); then
        log "FAILED: the stack's logs follow"
        $COMPOSE logs --no-color --tail=100 >&2 || true
    fi
    log "tearing the stack down"
    $COMPOSE down --remove-orphans --timeout 10 >&2 || true
    for line in "${TIMES[@]}"; do echo "  $line"; done
}
trap cleanup EXIT

# A clean slate: no container or result left from an earlier run.
$COMPOSE down --remove-orphans --timeout 10 >&2 || true
rm -rf "$OUT"; mkdir -p "$OUT"
[[ $(id -u) != 0 ]] || chown -R 10001:10001 results

t0=$SECONDS
$COMPOSE build lab
took "lab image (compose build)" "$t0"

results=()
for latency in $LATENCIES; do
    for query in $QUERIES; do
        t0=$SECONDS
        make --no-print-directory lab latency="$latency" query="$query" repeat="$REPEAT" \
            RESULT_NAME="e2e/$query-${latency}ms"
        took "run $query at $latency ms" "$t0"
        results+=("$OUT/$query-${latency}ms.json")
    done
done

# A short comparison of the affected and the fixed release: the same
# Makefile target a user runs.
t0=$SECONDS
make --no-print-directory compare latencies="$LATENCIES" query=seed repeat=1 COMPARE_DIR=e2e/compare
took "compare 53.0.0 vs 53.0.2" "$t0"
results+=("$OUT/compare/affected/sweep.json" "$OUT/compare/fixed/sweep.json")

# Two failure modes, briefly: a collector outage (black hole, refused) with
# a short export timeout, and a burst into a tiny Batch queue.
for scenario in $SCENARIOS; do
    t0=$SECONDS
    # The Makefile's export timeout: 500 ms for outage, 5000 ms otherwise.
    make --no-print-directory scenario name="$scenario" latency="$SCENARIO_LATENCY" query=seed repeat=1 \
        SCENARIO_RESULT="e2e/scenario-$scenario"
    took "scenario $scenario" "$t0"
    results+=("$OUT/scenario-$scenario.json")
done

python3 scripts/e2e_check.py "http://127.0.0.1:$JAEGER_UI_PORT" "${results[@]}"
status=0
log "passed"
