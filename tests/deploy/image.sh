#!/usr/bin/env bash
# The image's contents without a registry: the Dockerfile's runtime stage
# from Debian's packages (tests/deploy/rootfs.sh: mmdebstrap, cached), this
# build installed into it (`make install`, this build's prefix) with the
# shipped pipelines, run with chroot in a mount namespace as Kubernetes would
# run the container: the root file system read-only, /tmp and
# /var/lib/martflow empty writable volumes, MARTFLOW_DATA_DIR on the latter,
# HOME unusable. Twice: as the guide's user 500:500 and as an arbitrary UID
# with group 0 (OpenShift). Each time `martflow check` of every shipped
# pipeline succeeds and a short pipelines/local.yaml run (30 calls, the
# installed migrations) loads the test PostgreSQL. Then the same tree becomes
# an OCI image with `podman import` and the Dockerfile's final-stage config
# (USER, ENV, WORKDIR, EXPOSE, ENTRYPOINT, CMD, read from the Dockerfile):
# its config and contents are checked. (Running it with podman needs a
# runtime allowed to set rlimits, which this sandbox refuses: crun's
# "setrlimit RLIMIT_NPROC: Operation not permitted"; the chroot runs above
# run the very same files.)
source "$top_srcdir/tests/lib.sh"
[[ $(id -u) == 0 ]] || fail "needs root (chroot, mount namespaces)"
need_postgres
ROOT=$("$top_srcdir/tests/deploy/rootfs.sh") || fail "cannot build the root file system"
[[ -x $ROOT/bin/sh && -f $ROOT/usr/lib/x86_64-linux-gnu/librdkafka.so.1 ]] || fail "$ROOT: not the runtime root file system"
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
[[ $prefix == /* ]] || fail "no prefix in $top_builddir/Makefile"

make -s -C "$top_builddir" install DESTDIR="$TMP/inst" >"$TMP/install.log" 2>&1 || { tail "$TMP/install.log" >&2; fail "make install"; }
mkdir -p "$TMP/inst$prefix/share/martflow/pipelines"
cp "$top_srcdir"/pipelines/*.yaml "$top_srcdir"/pipelines/*.jsonl "$TMP/inst$prefix/share/martflow/pipelines/"
[[ -d $TMP/inst$prefix/share/martflow/infomart ]] || fail "the migrations were not installed"

DB=mf_image_$$
PGDATABASE=postgres psql -q -c "CREATE DATABASE $DB" || fail "cannot create $DB"
trap 'PGDATABASE=postgres psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; cleanup_tmp' EXIT

# in_image USER:GROUP CMD...: CMD in the image as that user (exit status and output as CMD's)
in_image() {
    local user=$1
    shift
    unshare -m --propagation private bash -euo pipefail -c '
        root=$1 inst=$2 prefix=$3 mnt=$4 user=$5; shift 5
        mkdir -p "$mnt"
        mount --bind "$root" "$mnt"
        mount --bind "$inst$prefix" "$mnt$prefix"
        mount -t tmpfs -o mode=1777 tmpfs "$mnt/tmp"
        mount -t tmpfs -o mode=0777 tmpfs "$mnt/var/lib/martflow"       # an emptyDir
        mount --rbind /dev "$mnt/dev"
        mount --rbind /proc "$mnt/proc"
        mount -o remount,bind,ro "$mnt$prefix"
        mount -o remount,bind,ro "$mnt"                                 # readOnlyRootFilesystem
        # the image (prefix /usr) runs ldconfig; a /usr/local build here is found by LD_LIBRARY_PATH
        lib=; [[ $prefix == /usr ]] || lib=LD_LIBRARY_PATH=$prefix/lib
        exec chroot --userspec="$user" "$mnt" /usr/bin/env -i PATH="$prefix/bin:/usr/bin:/bin" HOME=/nonexistent \
            MARTFLOW_DATA_DIR=/var/lib/martflow/state $lib "$@"' \
        in_image "$ROOT" "$TMP/inst" "$prefix" "$TMP/mnt" "$user" "$@"
}

P=$prefix/share/martflow/pipelines
for user in 500:500 1000650000:0; do
    # the root is read-only, the volumes writable, the user the one asked for
    out=$(in_image "$user" /bin/sh -c 'id -u; id -g; touch /var/lib/martflow/w /tmp/w; if touch /usr/x 2>/dev/null; then echo rw; else echo ro; fi')
    assert_eq "${user%%:*} ${user##*:} ro" "$(echo $out)" "as $user: uid, gid, read-only root"
    for p in gca gsp gim local; do
        in_image "$user" /bin/sh -c "cd $prefix/share/martflow && martflow check $P/$p.yaml" >"$TMP/check.log" 2>&1 ||
            { cat "$TMP/check.log" >&2; fail "as $user: martflow check $p.yaml"; }
        assert_contains "$TMP/check.log" "$p.yaml: OK" "as $user: check $p.yaml"
    done
    # a short local.yaml run into the test database, the migrations the installed ones
    PGDATABASE=postgres psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" || fail "cannot recreate $DB"
    RC=0
    in_image "$user" PGHOST=127.0.0.1 PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE="$DB" CALLS=30 AGENTS=4 RATE=1 \
        METRICS_LISTEN=127.0.0.1:0 DEAD_LETTER=/var/lib/martflow/dead.jsonl \
        timeout 120 /bin/sh -c "cd $prefix/share/martflow && exec martflow run $P/local.yaml" >"$TMP/run.log" 2>&1 || RC=$?
    assert_eq 0 "$RC" "as $user: local.yaml (log: $(tail -3 "$TMP/run.log"))"
    n=$(PGDATABASE=$DB psql -At -c 'SELECT count(*) FROM interaction_fact') || fail "no interaction_fact in $DB"
    ((n >= 30)) || fail "as $user: $n interaction_fact rows, want >= 30 (30 calls)"
    note "as $user: 4 pipelines checked, local.yaml loaded $n interactions"
done

# ---- the tree as an OCI image: podman import with the Dockerfile's config
command -v podman >/dev/null || fail "podman not found (tests/install-deps.sh test)"
pm() { podman --root "$TMP/podman" --runroot "$TMP/podman-run" --storage-driver vfs --cgroup-manager cgroupfs "$@"; }
changes=()
n_lines=0
while IFS= read -r line; do
    n_lines=$((n_lines + 1))
    if [[ $line == EXPOSE* ]]; then # podman takes one port per EXPOSE
        for port in ${line#EXPOSE }; do changes+=(--change "EXPOSE $port"); done
    else
        changes+=(--change "$line")
    fi
done < <(awk '/^FROM /{n++} n == 2 && /^(USER|ENV|WORKDIR|EXPOSE|ENTRYPOINT|CMD) /' "$top_srcdir/Dockerfile")
((n_lines == 6)) || fail "expected 6 config lines in the Dockerfile's final stage, got $n_lines"
# one tree (the root file system with this build over it), one layer
cp -a "$ROOT" "$TMP/tree" && cp -a "$TMP/inst/." "$TMP/tree/" && tar -C "$TMP/tree" -cf "$TMP/image.tar" . ||
    fail "cannot make the image's tree"
rm -rf "$TMP/tree"
pm import "${changes[@]}" "$TMP/image.tar" localhost/martflow:test >"$TMP/import.log" 2>&1 ||
    { cat "$TMP/import.log" >&2; fail "podman import"; }
cfg=$(pm image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{.Config.WorkingDir}}|{{json .Config.Env}}|{{json .Config.ExposedPorts}}' localhost/martflow:test) ||
    fail "podman image inspect"
assert_eq '500:500|["martflow"]|["--help"]|/var/lib/martflow' "$(cut -d'|' -f1-4 <<<"$cfg")" "the image's user, entrypoint, cmd, workdir"
[[ $cfg == *'MARTFLOW_DATA_DIR=/var/lib/martflow/state'* ]] || fail "the image's env: $cfg"
[[ $cfg == *'9249/tcp'* && $cfg == *'8249/tcp'* ]] || fail "the image's ports: $cfg"
mnt=$(pm image mount localhost/martflow:test) || fail "podman image mount"
for f in "$prefix/bin/martflow" "$P/gsp.yaml" "$prefix/share/martflow/infomart/001_initial.sql"     usr/lib/x86_64-linux-gnu/librdkafka.so.1; do
    [[ -e $mnt/${f#/} ]] || fail "the image lacks $f"
done
assert_eq 500 "$(stat -c %u "$mnt/var/lib/martflow")" "the data directory's owner in the image"
pm image unmount localhost/martflow:test >/dev/null
note "podman import: localhost/martflow:test, user 500:500, entrypoint martflow, $(du -sh "$TMP/image.tar" | cut -f1)"
