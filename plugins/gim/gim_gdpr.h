/*
 * gim_gdpr.h — the gdpr job kind (gim_jobs.h; docs/gdpr.md): forget (mask)
 * or export the personal data of one customer or employee. Run only on
 * demand, with arguments (`martflow gdpr FILE ACTION ...`, which is
 * `martflow job FILE gdpr -- ACTION ...`):
 *
 *   forget|export (--customer VALUE | --employee VALUE) [--output PATH] [--request-id ID]
 *
 * Options of a job of kind gdpr:
 *   mask: forgotten                  what replaces a forgotten value
 *   customer_columns: [table.column] custom text columns holding a customer's
 *   employee_columns: [table.column] or an employee's data, besides the
 *                                    built-in ones of gim_gdpr_column (005)
 *
 * The columns are gim_gdpr_column's (the custom ones are added to it by the
 * first request, so the loader sees them too). Customer: a row matches
 * where a customer column equals VALUE, and that field alone is masked.
 * Employee: a row matches where an employee key column (employee_id,
 * user_name, the custom ones) equals VALUE, and every employee column of
 * the row is masked. forget, in one transaction that first takes SHARE ROW
 * EXCLUSIVE on gim_forget_list (the loader's cycle holds SHARE, taken before
 * its audit key: so the audit keys of both commit in order): masks, also
 * inside the records kept in gim_pending_update, adds the SHA-256 of VALUE
 * (and of the matched rows' other key values) to gim_forget_list, and writes a
 * ctl_gdpr_history row per field checked or masked. export writes the
 * matched rows (every column) as one JSON document to PATH (written to
 * PATH.tmp, then renamed) and a ctl_gdpr_history row per field exported.
 * Neither ever writes VALUE into the database or a log: only its hash.
 */
#ifndef MF_GIM_GDPR_H
#define MF_GIM_GDPR_H

#include "gim_jobs.h"

extern const gim_job_kind gim_gdpr_kind;

#endif
