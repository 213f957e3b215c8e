# drop-lab: `make lab` runs the whole stack, `make latency=200` the same at
# 200 ms, `make test` the hermetic tests. `make help` lists every target.
#
# The default goal is `lab`, so that a variable alone (`make latency=200`)
# is enough to run the lab.
.DEFAULT_GOAL := lab
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# --- knobs (command line or environment) ------------------------------------
latency ?= 100
query   ?= seed
repeat  ?= 3
processors ?= none,simple,batch
# make sweep / make compare: the latencies (ms) and queries swept; the
# defaults differ per target (see below).
latencies ?=
queries   ?=
# make scenario: which one, and the export timeout: 500 ms for `outage`
# (so the demo stays bounded), the lab's 5000 ms for the others (a large
# batch over a slow link must be able to make it).
name    ?=
timeout ?= $(if $(filter outage,$(name)),500,5000)
# The JSON lands in results/$(RESULT_NAME).json.
RESULT_NAME ?= $(query)-$(latency)ms
SCENARIO_RESULT ?= scenario-$(name)-$(query)-$(latency)ms
SWEEP_DIR ?= sweep
COMPARE_DIR ?= compare

# Bad values stop here, with one line, before anything starts.
ifeq ($(shell [[ '$(latency)' =~ ^[0-9]{1,5}$$ ]] && (( 10#$(latency) <= 60000 )) && echo ok),)
$(error latency=$(latency): must be a whole number of milliseconds from 0 to 60000)
endif
ifeq ($(shell [[ '$(repeat)' =~ ^[0-9]{1,4}$$ ]] && (( 10#$(repeat) >= 1 && 10#$(repeat) <= 1000 )) && echo ok),)
$(error repeat=$(repeat): must be a whole number from 1 to 1000)
endif
# The named queries, read from the lab's source so the list cannot drift.
QUERIES := $(shell sed -n 's/^ *name: "\([a-z0-9_]*\)",$$/\1/p' src/workload.rs)
ifeq ($(filter $(query),$(QUERIES)),)
$(error query=$(query): unknown query; the named queries are: $(QUERIES))
endif
ifneq ($(shell [[ '$(processors)' =~ ^(none|simple|batch)(,(none|simple|batch))*$$ ]] && echo ok),ok)
$(error processors=$(processors): must be a comma-separated list of none, simple, batch)
endif
ifeq ($(shell [[ '$(timeout)' =~ ^[0-9]{1,5}$$ ]] && (( 10#$(timeout) >= 1 && 10#$(timeout) <= 60000 )) && echo ok),)
$(error timeout=$(timeout): must be a whole number of milliseconds from 1 to 60000)
endif
ifneq ($(filter sweep,$(MAKECMDGOALS)),)
latencies := $(or $(latencies),0 25 50 100 200)
queries   := $(or $(queries),$(QUERIES))
endif
ifneq ($(filter compare,$(MAKECMDGOALS)),)
latencies := $(or $(latencies),0 100)
queries   := $(or $(queries),$(query))
endif
$(foreach l,$(latencies),$(if $(shell [[ '$(l)' =~ ^[0-9]{1,5}$$ ]] && (( 10#$(l) <= 60000 )) && echo ok),,$(error latencies=$(latencies): '$(l)' is not a whole number of milliseconds from 0 to 60000)))
$(foreach q,$(queries),$(if $(filter $(q),$(QUERIES)),,$(error queries=$(queries): unknown query '$(q)'; the named queries are: $(QUERIES))))
space := $(subst ,, )
comma := ,
# The scenarios, read from the lab's source like the queries.
SCENARIO_LINES := $(shell sed -n 's/^ *(Scenario::[A-Za-z]*, "\([a-z]*\)", "\(.*\)"),$$/\1/p' src/scenario.rs)
ifneq ($(filter scenario,$(MAKECMDGOALS)),)
ifeq ($(filter $(name),$(SCENARIO_LINES)),)
$(error name=$(name): unknown scenario; the scenarios are: $(SCENARIO_LINES))
endif
endif

# --- Docker -----------------------------------------------------------------
# A Docker engine started by scripts/docker-up.sh listens on its own socket;
# use it when it is there and DOCKER_HOST is not set.
ifeq ($(origin DOCKER_HOST),undefined)
ifneq ($(wildcard /run/drop-lab/docker.sock),)
export DOCKER_HOST := unix:///run/drop-lab/docker.sock
endif
endif
# Images built by scripts/local-images.sh (`make images`) replace the
# registry images when present; a variable set by the caller still wins.
ifneq ($(wildcard build/local-images.env),)
LOCAL_IMAGES := $(shell grep -E '^[A-Z_]+=[^ ]+$$' build/local-images.env)
$(foreach kv,$(LOCAL_IMAGES),$(eval $(firstword $(subst =, ,$(kv))) ?= $(lastword $(subst =, ,$(kv)))))
endif
export JAEGER_IMAGE TOXIPROXY_IMAGE BUILDER_IMAGE RUNTIME_IMAGE

COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
export COMPOSE_PROJECT_NAME ?= drop-lab
export JAEGER_UI_PORT ?= 16686
export TOXIPROXY_API_PORT ?= 8474
# The lab container runs as a non-root user and writes ./results: as the
# caller when that is not root, else as the image's own user (uid 10001).
ifeq ($(shell id -u),0)
export LAB_UID := 10001
export LAB_GID := 10001
else
export LAB_UID := $(shell id -u)
export LAB_GID := $(shell id -g)
endif
HEALTH_WAIT ?= 120

.PHONY: help lab scenario sweep compare ui logs down test images e2e docker-up docker-down services lab-image

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: latency=$(latency) (ms)  query=$(query) ($(QUERIES))  repeat=$(repeat)  processors=$(processors)"
	@echo "  scenarios (make scenario name=NAME [timeout=MS]):"
	@sed -n 's/^ *(Scenario::[A-Za-z]*, "\([a-z]*\)", "\(.*\)"),$$/    \1: \2/p' src/scenario.rs

lab: services lab-image ## Run the lab in the stack (latency=MS, query=NAME, repeat=N, processors=LIST)
	LATENCY_MS=$(latency) QUERY=$(query) REPEAT=$(repeat) PROCESSORS=$(processors) \
	  RESULT_NAME=$(RESULT_NAME) $(COMPOSE) run --rm -T lab
	@echo "Jaeger UI: http://localhost:$(JAEGER_UI_PORT)  (make ui, make down)"

scenario: services lab-image ## Run a failure-mode scenario in the stack (name=NAME, timeout=MS; see below)
	LATENCY_MS=$(latency) QUERY=$(query) REPEAT=$(repeat) PROCESSORS=$(processors) \
	  SCENARIO=$(name) OTLP_TIMEOUT_MS=$(timeout) RESULT_NAME=$(SCENARIO_RESULT) $(COMPOSE) run --rm -T lab

sweep: services lab-image ## Sweep latencies and plan sizes in the stack (latencies="0 25 50 100 200", queries="seed join report"): results/sweep/
	REPEAT=$(repeat) PROCESSORS=$(processors) $(COMPOSE) run --rm -T lab sweep \
	  --latencies $(subst $(space),$(comma),$(strip $(latencies))) --queries $(subst $(space),$(comma),$(strip $(queries))) \
	  --out /results/$(SWEEP_DIR)

compare: services lab-image ## Affected (53.0.0) against fixed (53.0.2) datafusion-tracing in the stack (latencies="0 100", query=NAME): results/compare/
	for release in affected fixed; do \
	  bin=/usr/local/bin/drop-lab; [[ $$release == fixed ]] && bin=/usr/local/bin/drop-lab-fixed; \
	  REPEAT=$(repeat) PROCESSORS=$(processors) $(COMPOSE) run --rm -T --entrypoint $$bin lab sweep \
	    --latencies $(subst $(space),$(comma),$(strip $(latencies))) --queries $(subst $(space),$(comma),$(strip $(queries))) \
	    --out /results/$(COMPARE_DIR)/$$release || exit 1; \
	done
	$(COMPOSE) run --rm -T lab compare /results/$(COMPARE_DIR)/affected/sweep.json /results/$(COMPARE_DIR)/fixed/sweep.json \
	  --out /results/$(COMPARE_DIR)

# What every run needs besides the services: its results directories,
# writable by the lab container's user, and the lab image (Docker's layer
# cache makes this a few seconds when nothing changed). Each target names
# its directories; make hands the value on to this prerequisite.
RESULT_DIRS := results
sweep: RESULT_DIRS := results/$(SWEEP_DIR)
compare: RESULT_DIRS := results/$(COMPARE_DIR)/affected results/$(COMPARE_DIR)/fixed
lab-image:
	@mkdir -p $(RESULT_DIRS)
	@if [[ $$(id -u) == 0 ]]; then chown -R $(LAB_UID):$(LAB_GID) results; fi
	$(COMPOSE) build lab

services: ## Start Jaeger and Toxiproxy (reused when already running) and wait until healthy
	$(COMPOSE) up -d jaeger toxiproxy
	@scripts/wait-healthy.sh $(HEALTH_WAIT) jaeger toxiproxy

ui: ## Print the Jaeger UI address
	@echo "http://localhost:$(JAEGER_UI_PORT)/search?service=drop-lab"

logs: ## Show the stack's logs
	$(COMPOSE) logs --no-color --tail=200

down: ## Stop and remove the stack's containers and network
	$(COMPOSE) down --remove-orphans

test: ## Run the hermetic tests (no Docker needed)
	cargo test --release --locked

images: ## Build every image from package registries only (no container registry)
	scripts/local-images.sh

e2e: ## Build local images, run the stack at 0 and 100 ms, check the results against Jaeger
	scripts/e2e.sh

docker-up: ## Use a running Docker engine, or install and start one (root)
	@scripts/docker-up.sh >/dev/null

docker-down: ## Stop the Docker engine that docker-up started
	scripts/docker-down.sh
