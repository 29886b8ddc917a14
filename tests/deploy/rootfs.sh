#!/usr/bin/env bash
# tests/deploy/rootfs.sh — the final stage of the Dockerfile built from
# Debian's packages without a registry: mmdebstrap (variant essential) of
# bookworm with the Dockerfile's RUNTIME_PACKAGES, the user genesys 500:500
# and /var/lib/martflow (500:0, 0775), into the cache outside the tree, once
# per package list. Prints the directory. Root (or a user namespace that
# mmdebstrap can use) and the network to the Debian mirror are needed.
#
#   MARTFLOW_CACHE_DIR   the cache   [${XDG_CACHE_HOME:-$HOME/.cache}/martflow]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
CACHE_DIR=${MARTFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/martflow}
die() { echo "rootfs.sh: $*" >&2; exit 1; }
pkgs=$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"$/\1/p' "$top/Dockerfile")
[[ -n $pkgs ]] || die "no RUNTIME_PACKAGES in $top/Dockerfile"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found (tests/install-deps.sh test)"
sum=$(printf '%s\n' bookworm "$pkgs" | sha256sum | cut -c1-12)
ROOT=$CACHE_DIR/rootfs-bookworm-$sum
if [[ -f $ROOT.complete && -d $ROOT ]]; then echo "$ROOT"; exit 0; fi
mkdir -p "$CACHE_DIR"
exec 8>"$ROOT.lock"
command -v flock >/dev/null && { flock -w 1200 8 || die "cache lock timeout"; }
if [[ -f $ROOT.complete && -d $ROOT ]]; then echo "$ROOT"; exit 0; fi
rm -rf "$ROOT" "$ROOT.tmp"
t0=$SECONDS
echo "rootfs.sh: mmdebstrap bookworm + $pkgs into $ROOT (first time only, minutes) ..." >&2
mmdebstrap --variant=essential --include="${pkgs// /,}" --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='echo "genesys:x:500:500::/var/lib/martflow:/usr/sbin/nologin" >>"$1/etc/passwd"' \
    --customize-hook='echo "genesys:x:500:" >>"$1/etc/group"' \
    --customize-hook='mkdir -p "$1/var/lib/martflow" && chown 500:0 "$1/var/lib/martflow" && chmod 0775 "$1/var/lib/martflow"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$ROOT.tmp" >"$CACHE_DIR/rootfs.log" 2>&1 || { tail -20 "$CACHE_DIR/rootfs.log" >&2; die "mmdebstrap failed"; }
mv "$ROOT.tmp" "$ROOT"
echo "$pkgs" >"$ROOT.complete"
echo "rootfs.sh: built in $((SECONDS - t0)) s ($(du -sh "$ROOT" | cut -f1))" >&2
echo "$ROOT"
