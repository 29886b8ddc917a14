#!/usr/bin/env bash
# tests/deploy/helm.sh — a pinned helm, built once from its Go module into the
# cache outside the tree (no prebuilt download), then run with the arguments.
#
#   tests/deploy/helm.sh lint --strict charts/gsp     run helm (built first if needed)
#   tests/deploy/helm.sh --path                       print the binary's path (built first if needed)
#
#   MARTFLOW_CACHE_DIR      the cache        [${XDG_CACHE_HOME:-$HOME/.cache}/martflow]
#   MARTFLOW_HELM_VERSION   helm's module version  [v3.22.0]
# Needs Go >= 1.25 on PATH or /usr/local/go/bin/go; the first build takes
# minutes (the module cache and build cache stay in the cache dir).
set -euo pipefail
HELM_VERSION=${MARTFLOW_HELM_VERSION:-v3.22.0}
CACHE_DIR=${MARTFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/martflow}
HELM_HOME=$CACHE_DIR/helm-$HELM_VERSION
HELM_BIN=$HELM_HOME/bin/helm

die() { echo "helm.sh: $*" >&2; exit 1; }

build() {
    [[ -f $HELM_HOME/.complete && -x $HELM_BIN ]] && return 0
    local go gov tmp t0=$SECONDS
    if command -v go >/dev/null 2>&1; then go=$(command -v go)
    elif [[ -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go
    else die "go not found (helm is built from its Go module: Go >= 1.25 on PATH, e.g. /usr/local/go/bin)"
    fi
    gov=$("$go" env GOVERSION 2>/dev/null || true); gov=${gov#go}
    [[ $gov =~ ^1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 25)) || die "helm $HELM_VERSION needs Go >= 1.25, $go is ${gov:-unknown}"
    mkdir -p "$HELM_HOME"
    exec 8>"$HELM_HOME/.lock"
    if command -v flock >/dev/null 2>&1; then flock -w 1200 8 || die "cache lock timeout"; fi
    [[ -f $HELM_HOME/.complete && -x $HELM_BIN ]] && return 0   # another caller just built it
    tmp=$HELM_HOME/bin.tmp.$$
    rm -rf "$tmp"
    echo "helm.sh: building helm $HELM_VERSION with $("$go" version | cut -d' ' -f3) into $HELM_HOME/bin (first time only, minutes) ..." >&2
    # everything Go writes stays in the cache dir; GOTOOLCHAIN=local: never fetch another Go
    if ! (cd "$HELM_HOME" && GOPATH=$HELM_HOME/go GOMODCACHE=$HELM_HOME/go/pkg/mod GOCACHE=$HELM_HOME/go-build \
            GOBIN=$tmp GOFLAGS=-modcacherw GOTOOLCHAIN=local CGO_ENABLED=0 \
            "$go" install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
            "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >"$HELM_HOME/build.log" 2>&1; then
        tail -n 30 "$HELM_HOME/build.log" >&2
        rm -rf "$tmp"
        die "go install of helm $HELM_VERSION failed (log: $HELM_HOME/build.log)"
    fi
    rm -rf "$HELM_HOME/bin"
    mv "$tmp" "$HELM_HOME/bin"
    rm -rf "$HELM_HOME/go-build"      # only needed to build again (hundreds of MB)
    echo "$HELM_VERSION" >"$HELM_HOME/.complete"
    echo "helm.sh: built helm $HELM_VERSION in $((SECONDS - t0)) s" >&2
}

build
if [[ ${1:-} == --path ]]; then echo "$HELM_BIN"; exit 0; fi
# helm keeps no state of ours: its config, cache and data dirs in the cache too
export HELM_CONFIG_HOME=$HELM_HOME/config HELM_CACHE_HOME=$HELM_HOME/cache HELM_DATA_HOME=$HELM_HOME/data
exec "$HELM_BIN" "$@"
