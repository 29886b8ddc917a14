{{/* gim-<tenant_id>: the guide's fullname (gim-monitoring selects app: <it>). */}}
{{- define "gim.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.tenant_id -}}
{{- printf "gim-%s" (.Values.tenant_id | toString) | lower | trunc 63 | trimSuffix "-" -}}
{{- else -}}
gim
{{- end -}}
{{- end -}}

{{- define "gim.selectorLabels" -}}
app: {{ include "gim.fullname" . }}
app.kubernetes.io/name: gim
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gim.labels" -}}
{{ include "gim.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gim.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.registry -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "gim.s3endpoint" -}}
{{- $a := .Values.s3_storage.account -}}
{{- $e := default (get $a "entrypoint") (get $a "entryPoint") | default "" | toString -}}
{{- if and $e (not (regexMatch "^https?://" $e)) -}}
{{- printf "https://%s" $e -}}
{{- else -}}
{{- $e -}}
{{- end -}}
{{- end -}}

{{- define "gim.exportDir" -}}
{{- $d := .Values.gim_export.output_directory | default "" | toString | trimSuffix "/" -}}
{{- if not $d -}}
{{- else if .Values.s3_storage_enabled -}}
{{- printf "s3://%s" (regexReplaceAll "^s3[ap]?://" $d "") -}}
{{- else if hasPrefix "/" $d -}}
{{- printf "file://%s" $d -}}
{{- else -}}
{{- printf "file:///var/lib/martflow/export/%s" $d -}}
{{- end -}}
{{- end -}}

{{/* db over gimdb (GCA's name for the same database) */}}
{{- define "gim.db" -}}
{{- toYaml (merge (deepCopy .Values.db) (deepCopy (.Values.gimdb | default dict))) -}}
{{- end -}}
