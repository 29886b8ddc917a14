#!/usr/bin/env bash
# `martflow job FILE NAME -- ARG...` (plugin ABI 1.5 run_job_args): the
# arguments after -- reach a plugin that has run_job_args, exactly; a job of
# a plugin without it (an ABI 1.4 one, or 1.5 without the callback) runs
# without arguments and refuses any (exit 2); an ABI 1.4 descriptor's slot
# where 1.5 keeps run_job_args is not read. A subcommand finds martflow in
# $MARTFLOW.
source "$top_srcdir/tests/lib.sh"
mkdir -p "$TMP/p"
# jobs.c: a sink declaring job "j" (ARGS: with run_job_args, MINOR: its ABI minor)
cat >"$TMP/jobs.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <martflow/martflow.h>
static int init(void *c, mf_node *n, const mf_host *h) { (void)c; (void)n; (void)h; return MF_OK; }
static int process(void *c, mf_batch *b) { (void)c; (void)b; return MF_OK; }
static void list_jobs(const json_t *config, void (*fn)(void *, const char *, const json_t *), void *arg)
{
    fn(arg, "j", config);
}
static void note(const char *what, int argc, const char *const *argv)
{
    FILE *f = fopen(getenv("JOB_OUT"), "w");
    fprintf(f, "%s %d", what, argc);
    for (int i = 0; i < argc; i++)
        fprintf(f, " [%s]", argv[i]);
    fprintf(f, "\n");
    fclose(f);
}
static int run_job(void *c, const char *name) { (void)c; (void)name; note("run_job", 0, NULL); return MF_OK; }
#if ARGS
static int run_job_args(void *c, const char *name, int argc, const char *const *argv)
{
    (void)c; (void)name;
    note("run_job_args", argc, argv);
    return MF_OK;
}
#endif
#if !ARGS && MINOR < 5
static int poison(void *c, const char *name, int argc, const char *const *argv)
{
    (void)c; (void)name; (void)argc; (void)argv;
    abort();
}
#endif
MF_PLUGIN_EXPORT const mf_plugin_desc mf_plugin_descriptor = {
    .magic = MF_PLUGIN_MAGIC, .abi_major = MF_ABI_MAJOR, .abi_minor = MINOR,
    .struct_size = sizeof(mf_plugin_desc), .kind = MF_KIND_SINK, .name = NAME, .version = "1",
    .description = "jobs", .init = init, .process = process, .list_jobs = list_jobs, .run_job = run_job,
#if ARGS
    .run_job_args = run_job_args,
#elif MINOR < 5
    .run_job_args = poison, /* a 1.4 plugin's reserved slot: never read */
#endif
};
C
build() { cc -shared -fPIC -Wall -Werror -I"$top_srcdir/engine/include" $(pkg-config --cflags jansson 2>/dev/null) \
    -DNAME="\"$1\"" -DARGS="$2" -DMINOR="$3" "$TMP/jobs.c" -o "$TMP/p/sink_$1.so" || fail "cannot build sink $1"; }
build withargs 1 5
build noargs 0 5
build old 0 4
export JOB_OUT=$TMP/job.out
yaml() { printf 'sources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: %s, inputs: [in]}\n' "$1" >"$TMP/a.yaml"; }

yaml withargs
"$MARTFLOW" job "$TMP/a.yaml" j --plugin-path "$TMP/p" -- forget --x "a b" -- -z >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "job with arguments failed"; }
assert_eq "run_job_args 5 [forget] [--x] [a b] [--] [-z]" "$(cat "$JOB_OUT")" "every argument after the first --, as given"
"$MARTFLOW" job "$TMP/a.yaml" j --plugin-path "$TMP/p" >"$TMP/log" 2>&1 || fail "job without arguments failed"
assert_eq "run_job_args 0" "$(cat "$JOB_OUT")" "run_job_args with none"

for p in noargs old; do
    yaml $p
    rm -f "$JOB_OUT"
    "$MARTFLOW" job "$TMP/a.yaml" j --plugin-path "$TMP/p" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "$p: the job failed"; }
    assert_eq "run_job 0" "$(cat "$JOB_OUT")" "$p: run_job"
    rm -f "$JOB_OUT"
    rc=0; "$MARTFLOW" job "$TMP/a.yaml" j --plugin-path "$TMP/p" -- x >"$TMP/log" 2>&1 || rc=$?
    assert_eq 2 "$rc" "$p: arguments refused"
    assert_contains "$TMP/log" "job 'j' of .* takes no arguments" "$p: the message"
    [[ ! -e $JOB_OUT ]] || fail "$p: the job ran with refused arguments"
done

# an argument without --, as before, is a usage error
rc=0; "$MARTFLOW" job "$TMP/a.yaml" j extra --plugin-path "$TMP/p" >"$TMP/log" 2>&1 || rc=$?
assert_eq 2 "$rc" "an argument without --"

# a subcommand program gets $MARTFLOW
mkdir -p "$TMP/bin"
printf '#!/bin/sh\necho "MARTFLOW=$MARTFLOW"\n' >"$TMP/bin/martflow-whoami"
chmod +x "$TMP/bin/martflow-whoami"
out=$(MARTFLOW_EXEC_PATH=$TMP/bin "$MARTFLOW" whoami)
assert_contains "$out" "^MARTFLOW=/.*martflow$" "the subcommand's MARTFLOW"
"${out#MARTFLOW=}" version >/dev/null || fail "\$MARTFLOW does not run"
