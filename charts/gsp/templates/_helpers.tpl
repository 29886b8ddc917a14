{{/* The chart's names and labels (the guide's PodMonitor selects app: <fullname>). */}}
{{- define "gsp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gsp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gsp.selectorLabels" -}}
app: {{ include "gsp.fullname" . }}
app.kubernetes.io/name: {{ include "gsp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gsp.labels" -}}
{{ include "gsp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gsp.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.registry -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "gsp.serviceAccountName" -}}
{{- default (printf "%s-savepoint" (include "gsp.fullname" .)) .Values.savepoint.serviceAccount.name -}}
{{- end -}}

{{/*
The storage map: .Values.storage, with whatever .Values.job.storage sets on top
(the guide's own templates keep it there), and a context for tpl in which
.Values.job.storage is that map, so '{{ tpl .Values.job.storage.gspPrefix . }}'
renders wherever the user put it. Returns the rendered values as YAML:
gspPrefix, gcaSnapshots, checkpoints, savepoints (s3p:// and s3a:// as s3://).
*/}}
{{- define "gsp.storage" -}}
{{- $job := .Values.job | default dict -}}
{{- $st := merge (deepCopy ($job.storage | default dict)) (deepCopy .Values.storage) -}}
{{- $vals := merge (dict "job" (dict "storage" $st) "storage" $st) (deepCopy .Values) -}}
{{- $ctx := dict "Values" $vals "Release" .Release "Chart" .Chart "Template" .Template "Capabilities" .Capabilities -}}
{{- $prefix := tpl ($st.gspPrefix | default "" | toString) $ctx | nospace -}}
{{- $out := dict "gspPrefix" $prefix -}}
{{- $_ := set $out "gcaSnapshots" (include "gsp.s3url" (tpl ($st.gcaSnapshots | default "" | toString) $ctx | nospace)) -}}
{{- if $prefix -}}
{{- $_ := set $out "checkpoints" (include "gsp.s3url" (tpl ($st.checkpoints | default "" | toString) $ctx | nospace)) -}}
{{- $_ := set $out "savepoints" (include "gsp.s3url" (tpl ($st.savepoints | default "" | toString) $ctx | nospace)) -}}
{{- else -}}
{{- $_ := set $out "checkpoints" "file:///var/lib/martflow/checkpoints" -}}
{{- $_ := set $out "savepoints" "file:///var/lib/martflow/savepoints" -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* s3p://, s3a:// -> s3:// (the guide writes Flink's scheme); wasbs:// refused. */}}
{{- define "gsp.s3url" -}}
{{- $u := . -}}
{{- if hasPrefix "wasbs://" $u -}}
{{- fail (printf "storage: %s is Azure Blob storage, which martflow does not have: use s3:// (azure.enabled: false)" $u) -}}
{{- end -}}
{{- regexReplaceAll "^s3[ap]://" $u "s3://" | trimSuffix "/" -}}
{{- end -}}

{{/* The container's environment: ARCHITECTURE.md §5 names read by pipelines/gsp.yaml. */}}
{{- define "gsp.env" -}}
{{- $st := include "gsp.storage" . | fromYaml -}}
{{- $t := .Values.kafka.topic -}}
- name: TENANT_ID
  value: {{ .Values.tenant_id | toString | quote }}
- name: KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: KAFKA_SECRET_FILE
  value: /etc/martflow/kafka/{{ .Values.kafka.secretKey }}
- name: KAFKA_SESSION_TIMEOUT_MS
  value: {{ .Values.kafka.sessionTimeoutMs | toString | quote }}
- name: TOPIC_VOICE_CALLTHREAD
  value: {{ $t.voiceCallthread | quote }}
- name: TOPIC_VOICE_AGENTSTATE
  value: {{ $t.voiceAgentstate | quote }}
- name: TOPIC_VOICE_OUTBOUND
  value: {{ $t.voiceOutbound | quote }}
- name: TOPIC_DIGITAL_ITX
  value: {{ $t.digitalItx | quote }}
- name: TOPIC_DIGITAL_AGENTSTATE
  value: {{ $t.digitalAgentStates | quote }}
- name: TOPIC_GCA_CFG
  value: {{ $t.cfg | quote }}
- name: TOPIC_GSP_CFG
  value: {{ $t.gspCfg | quote }}
- name: TOPIC_GSP_IXN
  value: {{ $t.interactions | quote }}
- name: TOPIC_GSP_SM
  value: {{ $t.agentStates | quote }}
- name: TOPIC_GSP_OUTBOUND
  value: {{ $t.outbound | quote }}
- name: GSP_METRICS_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
- name: GSP_DEAD_LETTER
  value: /var/lib/martflow/gsp-dead-letter.jsonl
# the engine's state files (not $HOME: unset or read-only for an arbitrary UID)
- name: MARTFLOW_DATA_DIR
  value: /var/lib/martflow/state
- name: GSP_CHECKPOINTS
  value: {{ $st.checkpoints | quote }}
- name: GSP_SAVEPOINTS
  value: {{ $st.savepoints | quote }}
- name: GSP_CHECKPOINT_INTERVAL
  value: {{ .Values.checkpoint.interval | quote }}
- name: GSP_CHECKPOINT_RETAIN
  value: {{ .Values.checkpoint.retain | toString | quote }}
- name: GCA_SNAPSHOTS
  value: {{ $st.gcaSnapshots | quote }}
- name: S3_ENDPOINT
  value: {{ .Values.storage.s3.endpoint | quote }}
- name: S3_REGION
  value: {{ .Values.storage.s3.region | quote }}
- name: S3_PATH_STYLE
  value: {{ .Values.storage.s3.pathStyleAccess | toString | lower | quote }}
- name: S3_INSECURE
  value: {{ .Values.storage.s3.insecure | toString | lower | quote }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ .Values.storage.s3.secretName }}, key: accessKey}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ .Values.storage.s3.secretName }}, key: secretKey}
- name: GSP_PIPELINE
  value: {{ .Values.pipeline | quote }}
- name: GSP_RESTORE_SAVEPOINT
  {{- if .Values.restoreFromSavepoint }}
  value: {{ .Values.restoreFromSavepoint | quote }}
  {{- else }}
  valueFrom:
    configMapKeyRef: {name: {{ include "gsp.fullname" . }}-savepoint, key: restore, optional: true}
  {{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
