{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "khe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name. */}}
{{- define "khe.fullname" -}}
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

{{/* Labels that select the exporter's pods (never change them after install). */}}
{{- define "khe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "khe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "khe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "khe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kafka-health-exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount the pods run as. */}}
{{- define "khe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "khe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The rendered exporter config (the ConfigMap's only key). With sharding.enabled every kafka
collector gets `shard: {count: <replicas>, index: ${POD_NAME}}` (block style: `${...}` is not
valid inside a YAML flow mapping); the exporter takes the ordinal of the pod name as the index. */}}
{{- define "khe.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- if .Values.sharding.enabled -}}
{{- range $i, $c := $config.collectors | default list -}}
{{- if eq (toString $c.type) "kafka" -}}
{{- if hasKey $c "shard" -}}
{{- fail (printf "config.collectors[%d] (%s) sets shard: leave it out with sharding.enabled, the chart sets it to {count: sharding.replicas, index: ${POD_NAME}}" $i (toString $c.name)) -}}
{{- end -}}
{{- $_ := set $c "shard" (dict "count" $.Values.sharding.replicas "index" "${POD_NAME}") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Namespace of an optional object: its own override, else the release namespace. */}}
{{- define "khe.namespace" -}}
{{- default .root.Release.Namespace .override -}}
{{- end -}}

{{/* The scrape settings a ServiceMonitor endpoint and a PodMonitor endpoint share (after path). */}}
{{- define "khe.scrapeEndpoint" -}}
scheme: {{ .scheme }}
interval: {{ .interval }}
scrapeTimeout: {{ .scrapeTimeout }}
honorLabels: {{ .honorLabels }}
{{- with .tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .basicAuth }}
basicAuth:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* prometheusRule.alerts key -> alert name, in the order of the rules (NOTES lists them). */}}
{{- define "khe.alertNames" -}}
- [consumerLag, KafkaConsumerGroupLagHigh]
- [consumerLagSeconds, KafkaConsumerGroupLagSecondsHigh]
- [consumerNeverCatchesUp, KafkaConsumerGroupNeverCatchesUp]
- [consumerStatus, KafkaConsumerGroupStatusBad]
- [shareGroupLag, KafkaShareGroupLagHigh]
- [logDirOffline, KafkaLogDirUnavailable]
- [e2eProbeFailing, KafkaEndToEndProbeFailing]
- [messageAccumulation, KafkaConsumerMessageAccumulationHigh]
- [cmsDataStale, AliyunCloudMonitorDataStale]
- [streamsDead, KafkaStreamsAppDead]
- [streamsRestartLoop, KafkaStreamsAppRestartLoop]
- [collectorDown, KafkaHealthExporterCollectorDown]
- [collectorStale, KafkaHealthExporterCollectorStale]
- [workloadRestarts, KubeWorkloadPodsRestarted]
{{- end -}}
