{{/* gca-<tenant_id>: the guide's fullname (gca-monitoring selects app: <it>). */}}
{{- define "gca.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.tenant_id -}}
{{- printf "gca-%s" (.Values.tenant_id | toString) | lower | trunc 63 | trimSuffix "-" -}}
{{- else -}}
gca
{{- end -}}
{{- end -}}

{{- define "gca.selectorLabels" -}}
app: {{ include "gca.fullname" . }}
app.kubernetes.io/name: gca
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gca.labels" -}}
{{ include "gca.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gca.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.registry -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "gca.s3endpoint" -}}
{{- $s := .Values.storage.s3 -}}
{{- if $s.endPoint -}}
{{- printf "%s://%s:%v" (ternary "https" "http" (eq (toString $s.useSSL) "true")) $s.endPoint $s.port -}}
{{- end -}}
{{- end -}}

{{- define "gca.snapshots" -}}
{{- $s := .Values.storage.s3 -}}
{{- if $s.bucket -}}
{{- printf "s3://%s/%s" (trimSuffix "/" (toString $s.bucket)) (trimAll "/" (toString $s.gcaSnapshots)) | trimSuffix "/" -}}
{{- end -}}
{{- end -}}
