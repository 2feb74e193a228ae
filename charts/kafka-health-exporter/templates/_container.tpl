{{/* What the exporter container and the check-config init container share. */}}
{{- define "khe.exporterImage" -}}
image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
imagePullPolicy: {{ .Values.image.pullPolicy }}
{{- end -}}

{{/* Environment, resources, security context and mounts: the init container checks the config
with the same `${VAR}`s and files the exporter will see. */}}
{{- define "khe.exporterEnvAndMounts" -}}
{{- if or .Values.sharding.enabled .Values.env }}
env:
  {{- if .Values.sharding.enabled }}
  - name: POD_NAME            # the shard index is the ordinal of the StatefulSet pod name
    valueFrom:
      fieldRef: {fieldPath: metadata.name}
  {{- end }}
  {{- with .Values.env }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- if or .Values.existingSecret .Values.envFrom }}
envFrom:
  {{- with .Values.existingSecret }}
  - secretRef:
      name: {{ . }}
  {{- end }}
  {{- with .Values.envFrom }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- with .Values.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: config
    mountPath: /etc/kafka-health-exporter
    readOnly: true
  - name: tmp
    mountPath: /tmp
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Arguments of the check-config init container: the config file, and the web config when
extraArgs passes one to `run` (`--web.config.file PATH` or `--web.config.file=PATH`). */}}
{{- define "khe.checkConfigArgs" -}}
- check-config
- -c
- /etc/kafka-health-exporter/config.yaml
{{- $args := .Values.extraArgs }}
{{- range $i, $arg := $args }}
{{- if hasPrefix "--web.config.file=" $arg }}
- {{ $arg | quote }}
{{- else if and (eq $arg "--web.config.file") (lt (add1 $i) (len $args)) }}
- --web.config.file
- {{ index $args (add1 $i) | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* imagePullSecrets, then global.imagePullSecrets ({name: ...} entries or plain names, as
prometheus-kafka-exporter and other charts take them), each once. */}}
{{- define "khe.imagePullSecrets" -}}
{{- $secrets := list -}}
{{- $global := (.Values.global | default dict).imagePullSecrets | default list -}}
{{- range concat (.Values.imagePullSecrets | default list) $global -}}
{{- $secrets = append $secrets (kindIs "string" . | ternary (dict "name" .) .) -}}
{{- end -}}
{{- with $secrets | uniq }}{{ toYaml . }}{{ end -}}
{{- end -}}
