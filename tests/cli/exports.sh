#!/usr/bin/env bash
# libmartflow.so exports exactly the public API: every function the INSTALLED
# headers declare (as the compiler sees them: gcc -aux-info), mf_-prefixed,
# and nothing else. The martflow binary, which links the engine statically,
# exports the same functions, and a plugin it loads binds to the binary's
# copy (one engine state per process).
source "$top_srcdir/tests/lib.sh"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/martflow.pc")
make -s -C "$top_builddir" install-martflowincludeHEADERS DESTDIR="$TMP/stage" >"$TMP/install.log" 2>&1 \
    || { cat "$TMP/install.log"; fail "make install of the headers"; }
inc=$TMP/stage$prefix/include

# Every header of engine/include/martflow is installed (else what it declares
# would silently not be exported).
for h in "$top_srcdir"/engine/include/martflow/*.h; do
    [[ -f $inc/martflow/$(basename "$h") ]] || fail "$(basename "$h") is not installed (martflowinclude_HEADERS)"
done

# What the installed headers declare, as the compiler reads them.
: >"$TMP/declared.all"
for h in "$inc"/martflow/*.h; do
    printf '#include <martflow/%s>\n' "$(basename "$h")" >"$TMP/t.c"
    gcc -std=gnu11 -I"$inc" $(pkg-config --cflags jansson) -aux-info "$TMP/aux.txt" -fsyntax-only "$TMP/t.c" \
        || fail "$(basename "$h") does not compile on its own"
    { grep -F "/* $inc/martflow/" "$TMP/aux.txt" || true; } | sed -E 's/.*[ *]([A-Za-z_][A-Za-z0-9_]*) \(.*/\1/' \
        >>"$TMP/declared.all"
done
sort -u "$TMP/declared.all" >"$TMP/declared"
[[ -s $TMP/declared ]] || fail "no declaration found in the installed headers"
grep -qx mf_buffer_append "$TMP/declared" || fail "the declaration scan misses mf_buffer_append"
if grep -v '^mf_' "$TMP/declared" >"$TMP/unprefixed"; then
    fail "public functions without the mf_ prefix: $(tr '\n' ' ' <"$TMP/unprefixed")"
fi

exported() { # the defined dynamic symbols of $1, without versions
    nm -D --defined-only "$1" | awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | sort -u
}
lib=$top_builddir/engine/.libs/libmartflow.so
[[ -f $lib ]] || fail "$lib not built"
exported "$lib" >"$TMP/lib"
if comm -23 "$TMP/lib" "$TMP/declared" | grep . >"$TMP/extra"; then
    fail "libmartflow.so exports what no installed header declares: $(tr '\n' ' ' <"$TMP/extra")"
fi
if comm -13 "$TMP/lib" "$TMP/declared" | grep . >"$TMP/missing"; then
    fail "declared in the installed headers but not exported by libmartflow.so: $(tr '\n' ' ' <"$TMP/missing")"
fi

# The binary exports the public API for the plugins it loads, and no internal.
exported "$MARTFLOW" | grep '^mf_' >"$TMP/bin" || true
if ! cmp -s "$TMP/bin" "$TMP/declared"; then
    diff "$TMP/declared" "$TMP/bin" >&2 || true
    fail "the martflow binary's mf_ exports differ from the public API"
fi
printf '{"a":1}\n' >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl}
Y
LD_DEBUG=bindings LD_DEBUG_OUTPUT=$TMP/ld "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 \
    || { cat "$TMP/log"; fail "run"; }
assert_contains "$TMP/out.jsonl" '^\{"a":1\}$' "the record went through"
cat "$TMP"/ld.* >"$TMP/bindings"
assert_contains "$TMP/bindings" "sink_file\.so .* to [^ ]*martflow \[0\]: normal symbol .mf_buffer_reset" \
    "sink_file's helper calls bind to the binary's engine"
if grep -E "sink_file\.so .* to [^ ]*libmartflow\.so" "$TMP/bindings" >&2; then
    fail "a plugin bound to libmartflow.so's separate copy of the engine"
fi
