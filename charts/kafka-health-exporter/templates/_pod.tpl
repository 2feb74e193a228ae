{{/* The pod template of the Deployment, or of the StatefulSet with sharding.enabled. */}}
{{- define "khe.podTemplate" -}}
metadata:
  labels:
    {{- include "khe.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "khe.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "khe.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with include "khe.imagePullSecrets" . }}
  imagePullSecrets:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.hostAliases }}
  hostAliases:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- if or .Values.initContainers .Values.checkConfig.enabled }}
  initContainers:
    {{- with .Values.initContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- if .Values.checkConfig.enabled }}
    {{- /* Last, so files an init container above writes are there when it checks them. */}}
    - name: check-config
      {{- include "khe.exporterImage" . | nindent 6 }}
      args:
        {{- include "khe.checkConfigArgs" . | nindent 8 }}
      {{- include "khe.exporterEnvAndMounts" . | nindent 6 }}
    {{- end }}
  {{- end }}
  containers:
    - name: kafka-health-exporter
      {{- include "khe.exporterImage" . | nindent 6 }}
      args:
        - run
        - -c
        - /etc/kafka-health-exporter/config.yaml
        - --listen
        - "0.0.0.0:{{ .Values.port }}"
        - --log-level
        - {{ .Values.logLevel }}
        - --log-format
        - {{ .Values.logFormat }}
        - --web.telemetry-path
        - {{ .Values.telemetryPath | quote }}
        {{- if .Values.web.enableLifecycle }}
        - --web.enable-lifecycle
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.port }}
          protocol: TCP
      {{- with .Values.startupProbe }}
      startupProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      {{- include "khe.exporterEnvAndMounts" . | nindent 6 }}
    {{- with .Values.extraContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "khe.fullname" . }}
    - name: tmp
      emptyDir: {}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
