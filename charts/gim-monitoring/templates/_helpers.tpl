{{/* gim-<tenant_id>, the same name as charts/gim gives its pods (label app) */}}
{{- define "gim-monitoring.target" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.tenant_id -}}
{{- printf "gim-%s" (.Values.tenant_id | toString) | lower | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gim-monitoring.labels" -}}
app.kubernetes.io/name: gim-monitoring
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
