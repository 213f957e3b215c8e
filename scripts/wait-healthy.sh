#!/usr/bin/env bash
# wait-healthy.sh SECONDS SERVICE... — wait, at most SECONDS, until every named
# compose service of project $COMPOSE_PROJECT_NAME has a running container
# whose healthcheck reports "healthy". Fails at once if one is unhealthy or
# has exited, and prints that service's last log lines.
#
# Why not `docker compose up --wait`: Debian's docker-compose 1.29 has no
# --wait, and `depends_on: condition: service_healthy` only gates the lab.
set -euo pipefail
bound=$1; shift
project=${COMPOSE_PROJECT_NAME:?COMPOSE_PROJECT_NAME must be set}
deadline=$((SECONDS + bound))

status_of() { # service -> "healthy" | "starting" | "unhealthy" | "exited" | "missing"
    local id
    id=$(docker ps -aq --filter "label=com.docker.compose.project=$project" \
                      --filter "label=com.docker.compose.service=$1" | head -n1)
    [[ -n $id ]] || { echo missing; return; }
    docker inspect --format '{{if ne .State.Status "running"}}exited{{else if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$id"
}

for service in "$@"; do
    while :; do
        status=$(status_of "$service")
        case $status in
            healthy) break ;;
            unhealthy|exited|no-healthcheck)
                echo "wait-healthy: $service is $status" >&2
                id=$(docker ps -aq --filter "label=com.docker.compose.project=$project" \
                                   --filter "label=com.docker.compose.service=$service" | head -n1)
                [[ -n $id ]] && docker logs --tail 30 "$id" >&2 || true
                exit 1 ;;
        esac
        if (( SECONDS >= deadline )); then
            echo "wait-healthy: $service still '$status' after ${bound}s" >&2
            exit 1
        fi
        sleep 1
    done
done
echo "healthy: $*"
