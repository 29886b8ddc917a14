# tests/s3/s3_lib.sh — helpers for the S3 integration tests (sourced after
# nothing else: it sources tests/lib.sh and starts the server).
#
# A test that stops the server (an outage) sets S3_EXCLUSIVE=1 first: it then
# takes the lock exclusively, the others a shared one, so `make -j check`
# never runs another S3 test meanwhile. Every test works under a prefix of
# its own, $S3_PREFIX, in the test bucket.
source "$top_srcdir/tests/lib.sh"

S3_LOCK=${MARTFLOW_SERVICES_DIR:-/tmp/martflow-services}.s3-tests.lock
exec 7>"$S3_LOCK"
if [[ ${S3_EXCLUSIVE:-0} == 1 ]]; then flock -x 7; else flock -s 7; fi

need_s3
S3_PREFIX=$TEST_NAME-$$
OBJCLI=$top_builddir/tests/s3/objcli
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# url_path KEY: KEY percent-encoded as S3 paths are (RFC 3986, '/' kept)
url_path() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/-_.~"))' "$1"; }

# s3curl METHOD PATH_AND_QUERY [curl args]: a request of the independent
# client (curl --aws-sigv4); PATH_AND_QUERY already encoded, query canonical.
# Prints the body; fails on HTTP >= 400. Uploads: s3curl_put.
s3curl() {
    local method=$1 path=$2
    shift 2
    curl -fsS -X "$method" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" "$@" "$S3_ENDPOINT/$S3_BUCKET/$path"
}

# s3curl_get KEY FILE: download KEY with curl
s3curl_get() { s3curl GET "$(url_path "$1")" -o "$2"; }

# s3curl_put KEY FILE: upload FILE with curl -T (the body's hash in the header)
s3curl_put() {
    local sha
    sha=$(sha256sum "$2" | cut -d' ' -f1)
    curl -fsS -T "$2" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H "x-amz-content-sha256: $sha" "$S3_ENDPOINT/$S3_BUCKET/$(url_path "$1")" >/dev/null
}

# s3curl_keys PREFIX: every key under PREFIX, one a line, following
# continuation tokens (ListObjectsV2 with curl)
s3curl_keys() {
    local prefix token="" q page
    prefix=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-_.~"))' "$1")
    while :; do
        q="list-type=2&prefix=$prefix"
        [[ -n $token ]] && q="continuation-token=$token&$q"
        page=$(s3curl GET "?$q") || return 1
        python3 -c '
import sys, html, re
body = sys.stdin.read()
for k in re.findall(r"<Key>(.*?)</Key>", body, re.S):
    print(html.unescape(k))
' <<<"$page"
        [[ $page == *"<IsTruncated>true</IsTruncated>"* ]] || break
        token=$(python3 -c '
import sys, html, re, urllib.parse
t = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", sys.stdin.read(), re.S).group(1)
print(urllib.parse.quote(html.unescape(t), safe="-_.~"))' <<<"$page")
    done
}

# s3curl_uploads PREFIX: multipart uploads in progress under PREFIX (count)
s3curl_uploads() {
    local prefix
    prefix=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-_.~"))' "$1")
    s3curl GET "?prefix=$prefix&uploads=" | grep -o '<Upload>' | wc -l
}
