#!/bin/sh
# engine/public-symbols.sh SRCDIR HEADER... — the functions the installed
# headers declare (names starting mf_), one a line, sorted: exactly what
# libmartflow.so exports (Makefile.am links it with this list) and what the
# martflow binary and the test programs export for the plugins they load.
#
# A declaration is an mf_ name followed by "(" outside comments and
# preprocessor lines. Public headers hold declarations only (no inline
# bodies, no public data), so nothing else looks like that.
set -eu
srcdir=$1
shift
for h in "$@"; do
    cat "$srcdir/$h"
    echo
done | awk '
{ text = text $0 "\n" }
END {
    code = ""
    while ((i = index(text, "/*")) > 0) {
        code = code substr(text, 1, i - 1) " "
        text = substr(text, i + 2)
        j = index(text, "*/")
        if (j == 0) { text = ""; break }
        text = substr(text, j + 2)
    }
    code = code text
    n = split(code, lines, "\n")
    decls = ""
    cont = 0
    for (k = 1; k <= n; k++) {
        line = lines[k]
        sub(/\/\/.*/, "", line)
        if (cont || line ~ /^[ \t]*#/) {
            cont = (line ~ /\\$/)
            continue
        }
        decls = decls " " line
    }
    while (match(decls, /mf_[A-Za-z0-9_]+[ \t]*\(/)) {
        name = substr(decls, RSTART, RLENGTH)
        sub(/[ \t]*\($/, "", name)
        print name
        decls = substr(decls, RSTART + RLENGTH)
    }
}' | LC_ALL=C sort -u
