# martflow's image: the engine, its plugins, the shipped pipelines and the
# Info Mart migrations on Debian 12, run as the guide's user 500 (charts/:
# docs/deploy.md). Multi-stage: the build stage has the compilers and -dev
# packages, the final stage only the runtime libraries (RUNTIME_PACKAGES,
# which tests/deploy/rootfs.sh also reads to build the same contents from
# Debian's packages without a registry).
#
#   docker build -t martflow:0.1.0 .
#   docker run --rm martflow:0.1.0 check /usr/share/martflow/pipelines/gsp.yaml
ARG DEBIAN=debian:bookworm-slim
ARG RUNTIME_PACKAGES="ca-certificates libjansson4 libyaml-0-2 libmicrohttpd12 libssl3 libcurl4 libsimdjson14 libstdc++6 librdkafka1 libpq5 liblua5.4-0 zlib1g"

FROM ${DEBIAN} AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential autoconf automake libtool pkg-config ca-certificates \
        libjansson-dev libyaml-dev librdkafka-dev libpq-dev libcurl4-openssl-dev liblua5.4-dev \
        libmicrohttpd-dev libcunit1-dev libssl-dev g++ libsimdjson-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
    && ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    && make -j"$(nproc)" \
    && make install DESTDIR=/out \
    && mkdir -p /out/usr/share/martflow/pipelines \
    && cp pipelines/*.yaml pipelines/*.jsonl /out/usr/share/martflow/pipelines/ \
    && rm -rf /out/usr/include /out/usr/lib/pkgconfig \
    && find /out -name '*.la' -delete

FROM ${DEBIAN}
ARG RUNTIME_PACKAGES
# /var/lib/martflow: writable by 500 and, for OpenShift's arbitrary UIDs
# (group 0), by group 0; the charts mount volumes there and on /tmp
RUN apt-get update && apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd -g 500 genesys && useradd -u 500 -g 500 -d /var/lib/martflow -M -s /usr/sbin/nologin genesys \
    && mkdir -p /var/lib/martflow && chown 500:0 /var/lib/martflow && chmod 0775 /var/lib/martflow
COPY --from=build /out/ /
RUN ldconfig
# the nodes' state files (not $HOME: an arbitrary UID has none)
ENV MARTFLOW_DATA_DIR=/var/lib/martflow/state
USER 500:500
WORKDIR /var/lib/martflow
EXPOSE 9249 8249
ENTRYPOINT ["martflow"]
CMD ["--help"]
