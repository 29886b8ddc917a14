#!/usr/bin/env bash
# bench/s3/run.sh [MIB] [RUNS] — upload MIB (256) MiB as 64 MiB objects to the
# test S3 server (versitygw, tests/services.sh) through our client
# (tests/s3/objcli: martflow/objstore.h, multipart in 8 MiB parts, each part's
# SHA-256 signed) against `curl -T` of the same files to the same server
# (curl --aws-sigv4, one PutObject per file, the x-amz-content-sha256 header
# from sha256sum, which is timed too: ours hashes as well). Interleaved,
# medians of RUNS (3); prints MB/s and the ratio ours/curl (target >= 0.8).
# Each run reads the files from the page cache (read once before).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
mib=${1:-256}
runs=${2:-3}
source "$top/bench/lib.sh"
bench_build
make -s -C "$build" tests/s3/objcli >&2
objcli=$build/tests/s3/objcli
work=${BENCH_DIR:-/tmp/martflow-bench-s3}
mkdir -p "$work"

"$top/tests/services.sh" start s3 >&2
eval "$("$top/tests/services.sh" env)"
nobj=$((mib / 64))
((nobj >= 1)) || { echo "MIB must be at least 64" >&2; exit 2; }
for ((i = 0; i < nobj; i++)); do
    f=$work/obj$i
    [[ -f $f && $(stat -c %s "$f") -eq $((64 << 20)) ]] || head -c $((64 << 20)) /dev/urandom >"$f"
    cat "$f" >/dev/null
done

now() { date +%s.%N; }
ours() {
    local i
    for ((i = 0; i < nobj; i++)); do
        "$objcli" put "s3://$S3_BUCKET/bench-ours" "obj$i" "$work/obj$i"
    done
}
theirs() {
    local i sha
    for ((i = 0; i < nobj; i++)); do
        sha=$(sha256sum "$work/obj$i" | cut -d' ' -f1)
        curl -fsS -T "$work/obj$i" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
            -H "x-amz-content-sha256: $sha" "$S3_ENDPOINT/$S3_BUCKET/bench-curl/obj$i" >/dev/null
    done
}
t_ours=() t_curl=()
for ((r = 1; r <= runs; r++)); do
    t0=$(now); ours; t1=$(now); theirs; t2=$(now)
    t_ours+=("$(echo "$t1 - $t0" | bc -l)")
    t_curl+=("$(echo "$t2 - $t1" | bc -l)")
    printf 'run %d: ours %.2f s, curl %.2f s\n' "$r" "${t_ours[-1]}" "${t_curl[-1]}" >&2
done
# what both wrote is the same bytes
for ((i = 0; i < nobj; i++)); do
    "$objcli" get "s3://$S3_BUCKET/bench-ours" "obj$i" - | cmp -s - "$work/obj$i" || { echo "obj$i differs" >&2; exit 1; }
done
mo=$(median "${t_ours[@]}") mc=$(median "${t_curl[@]}")
printf 'bench/s3: %d MiB as %d x 64 MiB objects, median of %d\n' "$mib" "$nobj" "$runs"
printf '  ours (multipart, 8 MiB parts): %.2f s, %.0f MB/s\n' "$mo" "$(echo "$mib * 1.048576 / $mo" | bc -l)"
printf '  curl -T (one PUT per object):  %.2f s, %.0f MB/s\n' "$mc" "$(echo "$mib * 1.048576 / $mc" | bc -l)"
printf '  ratio ours/curl: %.2f (target >= 0.80)\n' "$(echo "$mc / $mo" | bc -l)"
for ((i = 0; i < nobj; i++)); do
    "$objcli" rm "s3://$S3_BUCKET/bench-ours" "obj$i"
    curl -fsS -X DELETE --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "$S3_ENDPOINT/$S3_BUCKET/bench-curl/obj$i"
done
