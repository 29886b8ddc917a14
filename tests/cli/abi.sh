#!/usr/bin/env bash
# The loader refuses a plugin built for another ABI, naming the file and both
# versions; and a file that is not a plugin, naming what is missing.
source "$top_srcdir/tests/lib.sh"
mkdir -p "$TMP/p"
cat >"$TMP/future.c" <<'C'
#include <martflow/martflow.h>
static int init(void *c, mf_node *n, const mf_host *h) { (void)c; (void)n; (void)h; return MF_OK; }
static int process(void *c, mf_batch *b) { (void)c; (void)b; return MF_OK; }
MF_PLUGIN_EXPORT const mf_plugin_desc mf_plugin_descriptor = {
    .magic = MF_PLUGIN_MAGIC, .abi_major = MF_ABI_MAJOR, .abi_minor = MF_ABI_MINOR + 1,
    .struct_size = sizeof(mf_plugin_desc), .kind = MF_KIND_SINK, .name = "future", .version = "1",
    .description = "from the future", .init = init, .process = process };
C
cc -shared -fPIC -I"$top_srcdir/engine/include" "$TMP/future.c" -o "$TMP/p/sink_future.so"
printf 'int not_a_plugin;\n' >"$TMP/none.c"
cc -shared -fPIC "$TMP/none.c" -o "$TMP/p/sink_none.so"
cat >"$TMP/a.yaml" <<Y
sources:
  in: {plugin: file, path: /dev/null}
sinks:
  out: {plugin: future, inputs: [in]}
Y
rc=0; "$MARTFLOW" check "$TMP/a.yaml" --plugin-path "$TMP/p" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "ABI mismatch is a check error"
assert_contains "$TMP/err" "sink_future.so: plugin built for martflow ABI 1\.6, but this martflow provides ABI 1\.5" "ABI message"
sed -i 's/future/none/' "$TMP/a.yaml"
rc=0; "$MARTFLOW" check "$TMP/a.yaml" --plugin-path "$TMP/p" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "not a plugin"
assert_contains "$TMP/err" "sink_none.so: does not export the symbol mf_plugin_descriptor" "missing symbol message"
# An older minor (ABI 1.2, before the stream functions) still loads.
sed -e 's/MF_ABI_MINOR + 1/2/' -e 's/"future"/"older"/' "$TMP/future.c" >"$TMP/older.c"
cc -shared -fPIC -I"$top_srcdir/engine/include" "$TMP/older.c" -o "$TMP/p/sink_older.so"
sed -i 's/plugin: none/plugin: older/' "$TMP/a.yaml"
"$MARTFLOW" check "$TMP/a.yaml" --plugin-path "$TMP/p" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "an ABI 1.2 plugin was refused"; }
