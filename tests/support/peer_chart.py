"""prometheus-community/prometheus-kafka-exporter 3.1.1 (prometheus-community/helm-charts, tag
prometheus-kafka-exporter-3.1.1): the top-level keys of its values.yaml, which the chart README's
migration table and the chart's own refusals cover."""

from __future__ import annotations

THEIR_VALUES = {
    "image", "command", "imagePullSecrets", "hostAliases", "deploymentLabels",
    "deploymentAnnotations", "global", "replicaCount", "kafkaServer", "kafkaBrokerVersion",
    "kafkaLabels", "verbosity", "sarama", "rbac", "serviceAccount", "env", "extraArgs", "service",
    "startup", "liveness", "readiness", "prometheus", "podLabels", "resources", "nodeSelector",
    "annotations", "tolerations", "affinity", "tls", "sasl", "server", "kafka", "securityContext",
    "containerSecurityContext",
}  # fmt: skip
