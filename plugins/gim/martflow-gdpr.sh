#!/usr/bin/env bash
# martflow-gdpr — `martflow gdpr FILE ACTION ...` (docs/gdpr.md): a GDPR request
# against the Info Mart of the pipeline FILE, run as the gim sink's job of kind
# gdpr (`martflow job FILE gdpr -- ACTION ...`): the job reads the sink's
# connection and options from FILE. martflow sets $MARTFLOW to itself.
set -u
usage() {
    cat >&2 <<'U'
usage: martflow gdpr FILE [--job NAME] [--set NODE.OPTION=VALUE]... [--plugin-path DIRS] [--log-level LEVEL]
                     forget|export (--customer ANI_OR_CONTACT | --employee ID) [--output PATH] [--request-id ID]
  forget   mask the subject's personal data in the Info Mart (one transaction) and keep later loads from
           bringing it back; export: write the subject's rows as JSON to --output PATH
  --job NAME   the gim sink's job of kind gdpr (default gdpr)
U
    exit 2
}
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
file=$1
shift
job=gdpr
opts=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --job) [[ $# -ge 2 ]] || usage; job=$2; shift 2 ;;
    --job=*) job=${1#--job=}; shift ;;
    --set | --plugin-path | --log-level) [[ $# -ge 2 ]] || usage; opts+=("$1" "$2"); shift 2 ;;
    --set=* | --plugin-path=* | --log-level=*) opts+=("$1"); shift ;;
    forget | export) break ;;
    *) echo "martflow gdpr: unknown argument '$1'" >&2; usage ;;
    esac
done
[[ $# -ge 1 ]] || usage
exec "${MARTFLOW:-martflow}" job "$file" "$job" "${opts[@]}" -- "$@"
