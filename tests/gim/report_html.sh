#!/usr/bin/env bash
# martflow report --format html opened in headless Chromium: the page is
# self-contained (no script, no external reference), the browser's DOM holds
# the hand-computed numbers of tests/gim/report.sh, and its screenshot shows
# the charts drawn in their colours (tests/gim/report_dom.py).
source "$top_srcdir/tests/gim/report_lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (tests/install-deps.sh test)"

report --format html --output "$TMP/report.html" || { cat "$TMP/report.err" >&2; fail "report --format html failed"; }
assert_contains "$TMP/report.html" "^<!DOCTYPE html>" "an HTML page"
! grep -Eiq '<script|<link|<img|<iframe|@import|url\(|src=|href=' "$TMP/report.html" || fail "the page refers to something outside it"
[[ $(grep -o 'http[s]*://[^"]*' "$TMP/report.html" | sort -u) == "http://www.w3.org/2000/svg" ]] ||
    fail "an address other than the SVG namespace: $(grep -o 'http[s]*://[^"]*' "$TMP/report.html" | sort -u)"

# a profile of its own; no network (the page needs none)
browser() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$TMP/profile" --proxy-server=127.0.0.1:9 --hide-scrollbars "$@" 2>>"$TMP/chromium.log"
}
browser --dump-dom "file://$TMP/report.html" >"$TMP/dom.html" || { tail "$TMP/chromium.log" >&2; fail "chromium --dump-dom failed"; }
python3 "$top_srcdir/tests/gim/report_dom.py" dom "$TMP/dom.html" || fail "the page's numbers or charts are not as expected"
browser --screenshot="$TMP/shot.png" --window-size=1000,900 "file://$TMP/report.html" >/dev/null ||
    { tail "$TMP/chromium.log" >&2; fail "chromium --screenshot failed"; }
[[ -s $TMP/shot.png ]] || fail "no screenshot"
python3 "$top_srcdir/tests/gim/report_dom.py" png "$TMP/shot.png" || fail "the charts did not render"
