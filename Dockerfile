# The balados binary on Debian, for docker-compose.kafka.yml. (The project's own CI has no Docker:
# platform/tests/compose.rs checks the compose file against the settings instead of running it.)
FROM rust:1.95-bookworm AS build
# librdkafka is built from source by the rdkafka crate, with CMake.
RUN apt-get update && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p balados

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /etc/balados/apps
COPY --from=build /src/target/release/balados /usr/local/bin/balados
USER nobody
EXPOSE 8080
ENTRYPOINT ["balados"]
CMD ["serve"]
