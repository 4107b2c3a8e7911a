# Multi-stage build: a full Rust toolchain to compile, a small Debian runtime to run.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p callplane && strip target/release/callplane

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/callplane --create-home callplane
COPY --from=build /src/target/release/callplane /usr/local/bin/callplane
COPY config/default.toml /etc/callplane/default.toml
USER callplane
WORKDIR /var/lib/callplane
ENV CALLPLANE_LISTEN=0.0.0.0:8080 \
    CALLPLANE_STORAGE=file:///var/lib/callplane/recordings
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["/usr/local/bin/callplane"]
CMD ["serve"]
