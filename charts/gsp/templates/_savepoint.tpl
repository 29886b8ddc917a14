{{/*
The pod spec of the take-savepoint job and of the upgrade hooks: a kubectl
image running SCRIPT (the "script" key of the dict passed: dict "root" . "script" "...").
The savepoint is taken inside the GSP container (POST /savepoint is accepted
from loopback only), its URL recorded in the ConfigMap <fullname>-savepoint:
key savepoint (the latest), restore (what the next start restores, upgrade only).
*/}}
{{- define "gsp.savepointPod" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "gsp.serviceAccountName" $root }}
restartPolicy: Never
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
  {{- end }}
{{- end }}
{{- with $root.Values.securityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: savepoint
    image: {{ $root.Values.savepoint.kubectlImage | quote }}
    command: ["/bin/sh", "-c"]
    args:
      - |
        set -eu
        dep={{ include "gsp.fullname" $root }}
        cm=$dep-savepoint
        {{- .script | nindent 8 }}
    env:
      - name: GSP_PIPELINE
        value: {{ $root.Values.pipeline | quote }}
      - name: SAVEPOINT_TIMEOUT
        value: {{ $root.Values.savepoint.upgradeHook.timeout | quote }}
      # the savepoints outlive the pod (S3, or file:// on a claim)
      - name: SAVEPOINT_DURABLE
        value: {{ if or (include "gsp.storage" $root | fromYaml).gspPrefix $root.Values.persistence.existingClaim }}"true"{{ else }}"false"{{ end }}
    {{- with $root.Values.containerSecurityContext }}
    securityContext:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end -}}
