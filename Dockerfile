# romgate's container image: build the release binary, then copy it into a
# slim Debian with CA certificates and an unprivileged user.
#
#   docker build -t romgate .                 # build from source (default)
#   docker build --target prebuilt -t romgate --build-context bin=DIR .
#                                             # a binary built elsewhere: DIR/romgate
#
# Data (the SQLite database and the server's key) lives in /data, the games
# in /library: mount both (compose.yaml does). The server listens on 8080.

ARG RUST_IMAGE=rust:1-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build: the same command as the README's, with the lock file.
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin romgate \
    && install -m 0755 target/release/romgate /usr/local/bin/romgate

# ---- runtime, without the binary: what both final stages share.
FROM ${DEBIAN_IMAGE} AS runtime-base
# CA certificates for the identity provider's TLS (a private CA is added
# with OIDC_TLS_CACERTFILE instead). Installed only when the base lacks them.
RUN if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi
# A fixed uid/gid, so a host directory can be chowned to it: 10001:10001.
RUN groupadd --gid 10001 romgate \
    && useradd --uid 10001 --gid romgate --no-log-init --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin romgate \
    && mkdir -p /data /library \
    && chown romgate:romgate /data /library
ENV ROMM_DATA_PATH=/data \
    ROMM_LIBRARY_PATH=/library \
    ROMM_PORT=8080 \
    ROMGATE_LISTEN_ADDRESS=0.0.0.0
VOLUME ["/data", "/library"]
EXPOSE 8080
USER romgate:romgate
WORKDIR /data
# `romgate health` GETs /health/live on ROMM_PORT (no curl in the image).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/romgate", "health"]
ENTRYPOINT ["/usr/local/bin/romgate"]
CMD ["serve"]

# ---- a binary built outside the image (CI's release build): the build
# context `bin` is a directory holding `romgate`.
FROM runtime-base AS prebuilt
COPY --from=bin --chmod=0755 romgate /usr/local/bin/romgate

# ---- the default: the binary from the build stage.
FROM runtime-base AS runtime
COPY --from=builder /usr/local/bin/romgate /usr/local/bin/romgate
