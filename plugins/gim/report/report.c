/*
 * report.c — martflow-report, run as `martflow report ...` (engine/src/subcmd.h):
 * options, the views, one writer, to stdout or --output FILE (written
 * beside it and renamed when complete, so a reader never sees half a page).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <martflow/alloc.h>

#include "report.h"

static int write_report(const rpt_data *d, FILE *out)
{
    switch (d->opts->format) {
    case RPT_CSV: return rpt_write_csv(d, out);
    case RPT_JSON: return rpt_write_json(d, out);
    case RPT_HTML: return rpt_write_html(d, out);
    default: return rpt_write_table(d, out);
    }
}

static int write_file(const rpt_data *d, const char *path)
{
    char *tmp = mf_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = RPT_EXIT_FAILED;
    if (!f) {
        fprintf(stderr, "martflow report: cannot write %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    int w = write_report(d, f);
    if (fclose(f) != 0 || w != 0) {
        fprintf(stderr, "martflow report: cannot write %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "martflow report: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    rc = RPT_EXIT_OK;
done:
    free(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    rpt_opts o;
    char err[512];
    rpt_data d;
    int rc;
    if (rpt_opts_parse(argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "martflow report: %s\n%s", err, rpt_usage);
        rpt_opts_free(&o);
        return RPT_EXIT_USAGE;
    }
    if (o.help) {
        fputs(rpt_usage, stdout);
        rpt_opts_free(&o);
        return RPT_EXIT_OK;
    }
    rc = rpt_query(&o, &d);
    if (rc == RPT_EXIT_OK) {
        if (o.output)
            rc = write_file(&d, o.output);
        else if (write_report(&d, stdout) != 0 || fflush(stdout) != 0) {
            fprintf(stderr, "martflow report: cannot write the report: %s\n", strerror(errno));
            rc = RPT_EXIT_FAILED;
        }
        rpt_data_free(&d);
    }
    rpt_opts_free(&o);
    return rc;
}
