{{/* Fields of one Kubernetes security context that belong to the other one: PodSecurityContext
only (the schema lets them into securityContext so that this check can name the right value),
and SecurityContext only (likewise for podSecurityContext). */}}
{{- define "khe.podOnlySecurityFields" -}}
[fsGroup, fsGroupChangePolicy, seLinuxChangePolicy, supplementalGroups, supplementalGroupsPolicy, sysctls]
{{- end -}}
{{- define "khe.containerOnlySecurityFields" -}}
[allowPrivilegeEscalation, capabilities, privileged, procMount, readOnlyRootFilesystem]
{{- end -}}

{{/* Fail, naming every field set in the wrong security context and where it goes. */}}
{{- define "khe.checkSecurityContexts" -}}
{{- $lines := list -}}
{{- range $field := include "khe.podOnlySecurityFields" . | fromYamlArray -}}
{{- if not (kindIs "invalid" (index $.Values.securityContext $field)) -}}
{{- $lines = append $lines (printf "  securityContext.%s is a pod-level field (PodSecurityContext): set podSecurityContext.%s instead" $field $field) -}}
{{- end -}}
{{- end -}}
{{- range $field := include "khe.containerOnlySecurityFields" . | fromYamlArray -}}
{{- if not (kindIs "invalid" (index $.Values.podSecurityContext $field)) -}}
{{- $lines = append $lines (printf "  podSecurityContext.%s is a container-level field (SecurityContext): set securityContext.%s instead" $field $field) -}}
{{- end -}}
{{- end -}}
{{- if $lines -}}
{{- fail (printf "security context fields in the wrong place (podSecurityContext is the pod's, securityContext the containers'; prometheus-kafka-exporter's securityContext is the pod's):\n%s" (join "\n" $lines)) -}}
{{- end -}}
{{- end -}}
