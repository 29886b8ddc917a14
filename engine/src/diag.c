/* diag.c — see diag.h. */
#include "diag.h"

#include "redact.h"

void mf_diag_error(mf_diag *d, mf_loc loc, const char *fmt, ...)
{
    size_t start = d->text.len;
    if (loc.file && loc.line > 0)
        mf_str_printf(&d->text, "%s:%d:%d: ", loc.file, loc.line, loc.col);
    else if (loc.file)
        mf_str_printf(&d->text, "%s: ", loc.file);
    va_list ap;
    va_start(ap, fmt);
    mf_str_vprintf(&d->text, fmt, ap);
    va_end(ap);
    mf_redact_str(&d->text, start); /* messages quote values, and values may hold secrets */
    mf_str_puts(&d->text, "\n");
    d->errors++;
}

void mf_diag_free(mf_diag *d)
{
    mf_str_free(&d->text);
    d->errors = 0;
}
