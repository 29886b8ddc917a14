#!/usr/bin/env bash
# The out-of-tree example transform (docs/examples/transform_stamp.c) builds
# with `cc -shared $(pkg-config --cflags martflow)` against the INSTALLED
# headers and runs in a pipeline.
source "$top_srcdir/tests/lib.sh"
# Install the headers and martflow.pc into a staging root (DESTDIR). Only
# those: a full `make install` relinks the plugins in the build tree, which
# other tests running in parallel would see disappear for a moment (run-all.sh
# checks the full install after the suite).
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/martflow.pc")
make -s -C "$top_builddir" install-martflowincludeHEADERS install-pkgconfigDATA DESTDIR="$TMP/stage" \
    >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "make install of headers and martflow.pc"; }
inst=$TMP/stage$prefix
[[ -f $inst/include/martflow/plugin.h && -f $inst/include/martflow/martflow.h && -f $inst/lib/pkgconfig/martflow.pc ]] \
    || fail "install layout"
export PKG_CONFIG_PATH=$inst/lib/pkgconfig
cflags=$(pkg-config --define-variable=prefix="$inst" --cflags martflow)
[[ $cflags == *"-I$inst/include"* ]] || fail "pkg-config cflags point at the install: $cflags"
mkdir -p "$TMP/myplugins"
cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror $cflags "$top_srcdir/docs/examples/transform_stamp.c" \
   -o "$TMP/myplugins/transform_stamp.so" $(pkg-config --libs jansson) || fail "out-of-tree build"
nm -D --defined-only "$TMP/myplugins/transform_stamp.so" >"$TMP/syms.txt" || fail "nm"
grep -q ' mf_plugin_descriptor$' "$TMP/syms.txt" || fail "exported symbol"
printf '{"a":1}\n[2]\n' >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
transforms:
  st: {plugin: stamp, inputs: [in], label: hello}
sinks:
  out: {plugin: file, inputs: [st], path: $TMP/out.jsonl}
  bad: {plugin: file, inputs: [st.errors], path: $TMP/bad.jsonl, format: envelope}
Y
"$MARTFLOW" run "$TMP/p.yaml" --plugin-path "$TMP/myplugins" >"$TMP/log" \
    || { cat "$TMP/log"; fail "run with the out-of-tree plugin"; }
assert_contains "$TMP/out.jsonl" '^\{"a":1,"stamp":"hello","stamped_at":[0-9]+\}$' "stamped record"
assert_contains "$TMP/bad.jsonl" '"mf.error":"not a JSON object"' "reject from the plugin"
assert_contains "$TMP/log" "stamping records with 'hello'" "plugin log line"
# Read the whole list first: grep -q closing the pipe early would make the
# writer die of SIGPIPE, which pipefail reports as a failure.
"$MARTFLOW" plugins --plugin-path "$TMP/myplugins" >"$TMP/plugins.txt" || fail "plugins"
grep -q '^transform stamp 1.0.0' "$TMP/plugins.txt" || fail "listed"
