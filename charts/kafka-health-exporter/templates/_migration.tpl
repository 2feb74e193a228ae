{{/* Values of prometheus-community/prometheus-kafka-exporter that this chart does not take, each
with what to set here instead (chart README: Migrating from prometheus-kafka-exporter). A dotted
key is looked up from the most specific to its top-level key. The schema lets these keys through
so that the refusal can name the replacement. */}}
{{- define "khe.peerValues" -}}
command: "remove it: the image's entrypoint is the exporter; extraArgs adds arguments of `kafka-health-exporter run`"
deploymentLabels: "use commonLabels (labels on every object)"
deploymentAnnotations: "use annotations (the Deployment's; the pods' are podAnnotations)"
kafkaServer: "use config.collectors[].bootstrap_servers (one kafka collector per cluster)"
kafkaBrokerVersion: "remove it: API versions are negotiated with the brokers"
kafkaLabels: "use the collector's config.collectors[].cluster (the cluster label of every series) and config.collectors[].labels for other labels"
verbosity: "use logLevel (0: info, 1 or more: debug)"
sarama: "remove it (there is no Sarama here); logLevel: debug logs the Kafka client"
rbac: "remove it: no Role is needed, the exporter never talks to the Kubernetes API"
startup: "use startupProbe (a probe set there is on)"
liveness: "use livenessProbe (always on, path /live)"
readiness: "use readinessProbe (always on, path /ready)"
prometheus: "use serviceMonitor.* (the same key names) or podMonitor.*"
prometheus.serviceMonitor.enabled: "use serviceMonitor.enabled"
prometheus.serviceMonitor.namespace: "use serviceMonitor.namespace (default: the release namespace)"
prometheus.serviceMonitor.interval: "use serviceMonitor.interval"
prometheus.serviceMonitor.scrapeTimeout: "use serviceMonitor.scrapeTimeout"
prometheus.serviceMonitor.additionalLabels: "use serviceMonitor.additionalLabels"
prometheus.serviceMonitor.targetLabels: "use serviceMonitor.targetLabels"
prometheus.serviceMonitor.relabelings: "use serviceMonitor.relabelings"
prometheus.serviceMonitor.metricRelabelings: "use serviceMonitor.metricRelabelings"
prometheus.serviceMonitor.apiVersion: "remove it: the ServiceMonitor is always monitoring.coreos.com/v1"
tls: "mount the Secret with extraVolumes and extraVolumeMounts and set config.collectors[].ssl_cafile, ssl_certfile, ssl_keyfile to files under the mount path"
tls.enabled: "use config.collectors[].security_protocol: SSL (SASL_SSL with SASL)"
tls.insecureSkipVerify: "use config.collectors[].ssl_insecure_skip_verify"
tls.serverName: "use config.collectors[].ssl_server_name"
sasl: "use config.collectors[].security_protocol, sasl_mechanism, sasl_username and sasl_password (repository README: Coming from kafka_exporter)"
sasl.enabled: "use config.collectors[].security_protocol: SASL_PLAINTEXT or SASL_SSL"
sasl.handshake: "remove it: the SASL handshake is always sent"
sasl.mechanism: "use config.collectors[].sasl_mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, AWS_MSK_IAM or GSSAPI"
sasl.scram.enabled: "use config.collectors[].sasl_mechanism: SCRAM-SHA-256 or SCRAM-SHA-512"
sasl.scram.mechanism: "use config.collectors[].sasl_mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
sasl.scram.username: "never put credentials in values: config.collectors[].sasl_username: ${KAFKA_USER} with KAFKA_USER from existingSecret or env"
sasl.scram.password: "never put credentials in values: config.collectors[].sasl_password: ${KAFKA_PASSWORD} with KAFKA_PASSWORD from existingSecret or env"
sasl.scram.secretName: "use env entries with valueFrom.secretKeyRef (KAFKA_USER, KAFKA_PASSWORD) or existingSecret, and ${KAFKA_USER} / ${KAFKA_PASSWORD} in the collector"
sasl.awsiam: "use config.collectors[].sasl_mechanism: AWS_MSK_IAM with sasl_aws_region (security_protocol: SASL_SSL); the IRSA role in serviceAccount.annotations"
sasl.kerberos: "use config.collectors[].sasl_mechanism: GSSAPI with sasl_kerberos_service_name, sasl_kerberos_principal, sasl_kerberos_keytab and sasl_kerberos_krb5_config, the files from a Secret through extraVolumes and extraVolumeMounts"
server: "use the exporter's web config (tls_server_config) from a mounted Secret with extraArgs: [--web.config.file, PATH], then serviceMonitor.scheme: https and serviceMonitor.tlsConfig"
kafka: "remove it (that chart's own CI only)"
containerSecurityContext: "use securityContext (the container's here; the pod's is podSecurityContext)"
service.labels: "use commonLabels (labels on every object)"
service.loadBalancerIP: "use your load balancer's annotation in service.annotations (Service.spec.loadBalancerIP is deprecated)"
{{- end -}}

{{/* Fail, listing every prometheus-kafka-exporter value that is set (not null) with its
replacement: a key with more specific entries below it is walked into (sasl.scram.password),
others are named as a whole (deploymentLabels). Only key names are shown, never values. */}}
{{- define "khe.refusePeerValues" -}}
{{- $messages := include "khe.peerValues" . | fromYaml -}}
{{- $parents := dict -}}
{{- range $key, $_ := $messages -}}
{{- $parts := splitList "." $key -}}
{{- range $n := until (sub (len $parts) 1 | int) -}}
{{- $_ := set $parents (join "." (slice $parts 0 (add1 $n))) true -}}
{{- end -}}
{{- end -}}
{{- $set := list -}}
{{- range $key, $value := .Values -}}
{{- if and (hasKey $messages $key) (not (kindIs "invalid" $value)) -}}
{{- if and (kindIs "map" $value) (hasKey $parents $key) -}}
{{- range $sub, $subValue := $value -}}
{{- $path := printf "%s.%s" $key $sub -}}
{{- if and (kindIs "map" $subValue) (hasKey $parents $path) -}}
{{- range $leaf, $leafValue := $subValue -}}
{{- if not (kindIs "invalid" $leafValue) -}}{{- $set = append $set (printf "%s.%s" $path $leaf) -}}{{- end -}}
{{- end -}}
{{- else if not (kindIs "invalid" $subValue) -}}
{{- $set = append $set $path -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $set = append $set $key -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $key := list "labels" "loadBalancerIP" -}}
{{- if not (kindIs "invalid" (index $.Values.service $key)) -}}{{- $set = append $set (printf "service.%s" $key) -}}{{- end -}}
{{- end -}}
{{- $lines := list -}}
{{- range $path := $set -}}
{{- $parts := splitList "." $path -}}
{{- $found := "" -}}
{{- range $n := until (len $parts) -}}
{{- $prefix := join "." (slice $parts 0 (sub (len $parts) $n)) -}}
{{- if and (not $found) (hasKey $messages $prefix) -}}{{- $found = index $messages $prefix -}}{{- end -}}
{{- end -}}
{{- $lines = append $lines (printf "  %s: %s" $path $found) -}}
{{- end -}}
{{- if $lines -}}
{{- fail (printf "values of prometheus-community/prometheus-kafka-exporter that this chart does not take (chart README: Migrating from prometheus-kafka-exporter):\n%s" (join "\n" $lines)) -}}
{{- end -}}
{{- end -}}
