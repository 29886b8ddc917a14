/*
 * gim_export.h — the Data Export job kind (gim_jobs.h; docs/plugins/gim.md,
 * "Data Export"): the rows created or updated since the last successful
 * export, one gzipped RFC 4180 CSV per table (gim_csvgz.h) in a folder
 * export_<auditKeyHWM>_<YYYY_MM_DD_HH_MI_SS> of the target, the manifest
 * last. Options of a job of kind export:
 *
 *   target: s3://BUCKET/PREFIX | file:///DIR   (required; ${env:EXPORT_DIR} in pipelines/gim.yaml)
 *   tables: [interaction_fact, ...]            (default: every Info Mart table but ctl_* and gim_*)
 *   gzip_level: 1..9                           (default 6)
 *
 * The range: (the last SUCCESS row's audit_key_hwm in ctl_export_history,
 * max(ctl_audit_log.audit_key)] by update_audit_key, read in one REPEATABLE
 * READ snapshot. The upper bound is exact because one loader writes at a
 * time (its advisory lock) and takes its audit key at the start of each
 * cycle: every key up to the largest committed one is committed or rolled
 * back. A row updated after the bound was read carries a larger key: the
 * next run has it. A failed run (FAILED, no manifest) is redone from the
 * same lower bound; the history row turns SUCCESS only after the manifest
 * is stored.
 */
#ifndef MF_GIM_EXPORT_H
#define MF_GIM_EXPORT_H

#include "gim_jobs.h"

extern const gim_job_kind gim_export_kind;

#endif
