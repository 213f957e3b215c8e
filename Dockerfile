# drop-lab image: the lab binary on a small Debian runtime.
#
# Base images are build arguments so that a machine without a container
# registry can substitute images it built itself (scripts/local-images.sh,
# see "Running without a container registry" in the README). The defaults
# are the official images.
ARG BUILDER_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILDER_IMAGE} AS builder
# openssl-sys (via toxiproxy_rust's blocking reqwest) links the system OpenSSL.
# The local builder image has these already; the official one does not.
RUN if ! pkg-config --exists openssl 2>/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev \
        && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src

# 1. Dependencies, in a layer of their own: it depends only on the manifest,
#    the lockfile and build.rs, so an edit under src/ does not rebuild
#    DataFusion. A placeholder crate stands in for the real sources.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin drop-lab \
 && rm -rf src

# 2. The lab itself. The copied sources can be older than the placeholder's
#    build outputs, and cargo compares mtimes: touch them so it rebuilds.
COPY src ./src
RUN touch src/lib.rs src/main.rs \
 && cargo build --release --locked --bin drop-lab \
 && cp target/release/drop-lab /usr/local/bin/drop-lab

# 3. The same lab against the release with the upstream fix (PR #54), for
#    `make compare`. Cargo holds one datafusion-tracing 53.x per lockfile, so
#    the pin is swapped and the lockfile moved to it (only that package
#    changes); the DataFusion build above is reused, only datafusion-tracing
#    and the lab recompile. The binary reports the release it was built with.
ARG FIXED_RELEASE=53.0.2
RUN sed -i "s/^datafusion-tracing = \"=53.0.0\"/datafusion-tracing = \"=${FIXED_RELEASE}\"/" Cargo.toml \
 && grep -q "^datafusion-tracing = \"=${FIXED_RELEASE}\"" Cargo.toml \
 && cargo update -p datafusion-tracing --precise "${FIXED_RELEASE}" \
 && cargo build --release --locked --bin drop-lab \
 && cp target/release/drop-lab /usr/local/bin/drop-lab-fixed

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin lab \
 && mkdir /results && chown lab /results
COPY --from=builder /usr/local/bin/drop-lab /usr/local/bin/drop-lab-fixed /usr/local/bin/
USER 10001
WORKDIR /results
ENTRYPOINT ["/usr/local/bin/drop-lab"]
