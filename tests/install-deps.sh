#!/usr/bin/env bash
# tests/install-deps.sh — install the Debian packages martflow needs, only the
# missing ones (apt-get; sudo when not root).
#
#   tests/install-deps.sh build   what building and running martflow needs
#   tests/install-deps.sh test    that, plus what the tests and benchmarks use
#   tests/install-deps.sh quickstart         build, plus PostgreSQL and curl (./quickstart.sh)
#   tests/install-deps.sh quickstart-client  build, plus psql and curl (a server of your own)
set -euo pipefail

build_pkgs=(build-essential autoconf automake libtool pkg-config
            libjansson-dev libyaml-dev librdkafka-dev libpq-dev libcurl4-openssl-dev
            liblua5.4-dev libmicrohttpd-dev libcunit1-dev libssl-dev g++ libsimdjson-dev zlib1g-dev)
# chromium: tests/gim/report_html.sh opens the report page headless. openssl:
# tests/services.sh makes the https S3 gateway's test certificates.
# postgresql: the server of Debian's release (tests/services.sh runs its own
# cluster from /usr/lib/postgresql/*/bin; psql comes with it)
# prometheus: Prometheus and promtool for the monitoring charts' rules (tests/deploy/);
# mmdebstrap: the image's root file system from Debian's packages (tests/deploy/rootfs.sh);
# podman: that tree imported as an OCI image (tests/deploy/image.sh)
test_pkgs=(kcat openjdk-17-jre-headless maven curl openssl valgrind python3 procps util-linux time iproute2 bc
           postgresql chromium prometheus mmdebstrap podman)

case ${1:-build} in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
quickstart) want=("${build_pkgs[@]}" postgresql curl util-linux) ;;
quickstart-client) want=("${build_pkgs[@]}" postgresql-client curl) ;;
*) echo "usage: $0 build|test|quickstart|quickstart-client" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "deps: all ${#want[@]} packages present" >&2
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# The server package would create and start a cluster `main` on 5432 that
# nothing here uses (tests/services.sh runs its own): tell it not to.
if [[ " ${missing[*]} " == *" postgresql "* && ! -d /etc/postgresql/ ]]; then
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' |
        "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/martflow-tests.conf >/dev/null
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
