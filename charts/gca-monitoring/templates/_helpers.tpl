{{/* gca-<tenant_id>, the same name as charts/gca gives its pods (label app) */}}
{{- define "gca-monitoring.target" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.tenant_id -}}
{{- printf "gca-%s" (.Values.tenant_id | toString) | lower | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gca-monitoring.labels" -}}
app.kubernetes.io/name: gca-monitoring
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
