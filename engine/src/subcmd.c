/*
 * subcmd.c — external subcommands (subcmd.h): find martflow-NAME, run it,
 * list them.
 */
#include "subcmd.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#ifndef MF_LIBEXECDIR
#error "MF_LIBEXECDIR: the build defines it (Makefile.am)"
#endif

#define PREFIX "martflow-"

bool mf_subcmd_name_ok(const char *name)
{
    if (!name || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return strlen(name) < 64;
}

/* The directories searched, in order, as one colon-separated string (new). */
static char *search_path(void)
{
    mf_str s = {0};
    const char *env = getenv("MARTFLOW_EXEC_PATH");
    if (env && *env)
        mf_str_printf(&s, "%s:", env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            mf_str_printf(&s, "%s:", self);
        }
    }
    mf_str_puts(&s, MF_LIBEXECDIR);
    return mf_str_take(&s);
}

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *mf_subcmd_find(const char *name)
{
    if (!mf_subcmd_name_ok(name))
        return NULL;
    char *dirs = search_path(), *save = NULL, *found = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *path = mf_xasprintf("%s/" PREFIX "%s", d, name);
        if (executable(path))
            found = path;
        else
            free(path);
    }
    free(dirs);
    return found;
}

void mf_subcmd_exec(const char *path, const char *name, int n, char **args)
{
    char **argv = mf_xcalloc((size_t)n + 2, sizeof *argv);
    argv[0] = mf_xasprintf(PREFIX "%s", name);
    for (int i = 0; i < n; i++)
        argv[i + 1] = args[i];
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) { /* so that the program can run this martflow back */
        self[len] = '\0';
        setenv("MARTFLOW", self, 1);
    }
    fflush(NULL);
    execv(path, argv);
    int saved = errno;
    free(argv[0]);
    free(argv);
    errno = saved;
}

void mf_subcmd_list(FILE *out)
{
    char *dirs = search_path(), *save = NULL;
    mf_str seen = {0}; /* ":name:" of every listed one */
    mf_str_puts(&seen, ":");
    bool heading = false;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        DIR *dir = opendir(d);
        if (!dir)
            continue;
        struct dirent *e;
        while ((e = readdir(dir))) {
            const char *name = e->d_name + strlen(PREFIX);
            if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 || !mf_subcmd_name_ok(name))
                continue;
            char *path = mf_xasprintf("%s/%s", d, e->d_name), *tag = mf_xasprintf(":%s:", name);
            if (executable(path) && !strstr(seen.data, tag)) {
                if (!heading)
                    fputs("\nsubcommands (programs martflow-NAME, run as martflow NAME ...):\n", out);
                heading = true;
                fprintf(out, "  %-8s (%s)\n", name, path);
                mf_str_printf(&seen, "%s:", name);
            }
            free(path);
            free(tag);
        }
        closedir(dir);
    }
    mf_str_free(&seen);
    free(dirs);
}
