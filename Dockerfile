# The `ggen` binary in a small image; the default command serves the registry.
#   docker build -t ggen-registry . && docker run -p 8080:8080 ggen-registry
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libclang-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release -p ggen-cli && cp target/release/ggen /usr/local/bin/ggen

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/ggen /usr/local/bin/ggen
ENV GGEN_HOME=/data GGEN_CONFIG_DIR=/data/config
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["ggen"]
CMD ["registry", "serve", "--addr", "0.0.0.0:8080"]
