/* heap_policy.c — see heap_policy.h. */
#include "heap_policy.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MMAP_THRESHOLD (16u << 20)
#define TRIM_THRESHOLD (32u << 20)

extern char **environ;

static bool user_tunes_malloc(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (t && strstr(t, "glibc.malloc."))
        return true;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "MALLOC_", 7) == 0)
            return true;
    return false;
}

void mf_heap_policy_install(void)
{
    if (user_tunes_malloc())
        return;
    /* Either call also turns off glibc's own sliding thresholds, which would
     * otherwise lower them again. */
    mallopt(M_MMAP_THRESHOLD, (int)MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, (int)TRIM_THRESHOLD);
}
