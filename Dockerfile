# Tessera images, one per binary: build on Debian 12, run on Debian 12 slim with only the runtime libraries.
#   docker build --build-arg BINARY=tessera-extender -t tessera-extender .
#   docker build --build-arg BINARY=tessera-reporter -t tessera-reporter .
# .dockerignore keeps build output and the trace data (bench/data) out of the context and the images.
ARG BINARY=tessera-extender

FROM debian:12 AS build
ARG BINARY
WORKDIR /src
COPY . .
RUN bash scripts/install-deps.sh \
 && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_BUILD_TESTS=OFF -DTESSERA_BUILD_BENCH=OFF \
 && cmake --build build --target "$BINARY" -j"$(nproc)"

FROM debian:12-slim
ARG BINARY
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libcpprest2.10 libgflags2.2 libspdlog1.10 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libhwloc15 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/$BINARY /usr/local/bin/tessera
ENTRYPOINT ["/usr/local/bin/tessera"]
