/*
 * subcmd.h — external subcommands, git-style: `martflow NAME ARGS...` for a
 * NAME the engine does not know runs the program `martflow-NAME ARGS...`.
 * The engine stays generic; a product part (the Info Mart report) ships its
 * command as such a program.
 *
 * Searched, first match wins: every directory of MARTFLOW_EXEC_PATH
 * (colon-separated), the directory of the running martflow binary (the build
 * tree puts the programs next to it), then MF_LIBEXECDIR (the installed
 * $(pkglibexecdir)). Only names of [a-z0-9-] starting with a letter or digit
 * are looked up, so a NAME can never be a path.
 */
#ifndef MF_SUBCMD_H
#define MF_SUBCMD_H

#include <stdbool.h>
#include <stdio.h>

/* Whether name may name a subcommand program. */
bool mf_subcmd_name_ok(const char *name);

/* The path of the executable martflow-NAME, or NULL when there is none (or
 * the name is not allowed). The caller frees it. */
char *mf_subcmd_find(const char *name);

/* Replace this process with path, run as "martflow-NAME" with args[0..n)
 * after it, with MARTFLOW set to this martflow binary's path (a subcommand
 * that runs `martflow job ...` runs the same build). Returns only when exec failed (errno set). */
void mf_subcmd_exec(const char *path, const char *name, int n, char **args);

/* Print the subcommands found, one "  NAME  (PATH)" a line after a heading,
 * each name once; nothing when there are none. */
void mf_subcmd_list(FILE *out);

#endif
