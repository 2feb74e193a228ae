"""Values copied from prometheus-community/prometheus-kafka-exporter: each of its top-level keys is
either taken with the same meaning here, or refused at render time (as `helm install` and
`helm template` would) with the key and the value to set instead; credentials never appear."""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from tests.support.chart_render import KUBE_VERSION, of_kind, render
from tests.support.peer_chart import THEIR_VALUES

# Their key -> a value as their chart takes it, and the pod-spec field (or object) it lands in here.
ACCEPTED: dict[str, Any] = {
    "image": {"repository": "registry.example.com/khe", "tag": "1.2.3", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "registry"}],
    "global": {"imagePullSecrets": ["global-registry", {"name": "other"}]},
    "hostAliases": [{"ip": "10.0.0.5", "hostnames": ["kafka-0.example"]}],
    "replicaCount": 2,
    "serviceAccount": {"create": True, "name": "khe"},
    "env": [{"name": "TZ", "value": "UTC"}],
    "extraArgs": [],
    "service": {"type": "NodePort", "port": 9308, "annotations": {"a": "b"}},
    "podLabels": {"tier": "monitoring"},
    "resources": {"limits": {"memory": "128Mi"}},
    "nodeSelector": {"disk": "ssd"},
    "annotations": {"owner": "kafka-team"},
    "tolerations": [{"key": "k", "operator": "Exists"}],
    "affinity": {"nodeAffinity": {}},
    "securityContext": {"runAsUser": 10001, "runAsGroup": 10002},
}
# Their key -> (a value as their chart takes it, {dotted key in the error: the replacement named}).
REFUSED: dict[str, tuple[Any, dict[str, str]]] = {
    "command": (["kafka_exporter"], {"command": "extraArgs"}),
    "deploymentLabels": ({"team": "kafka"}, {"deploymentLabels": "commonLabels"}),
    "deploymentAnnotations": ({"a": "b"}, {"deploymentAnnotations": "use annotations"}),
    "kafkaServer": (
        ["kafka-server:9092"],
        {"kafkaServer": "config.collectors[].bootstrap_servers"},
    ),
    "kafkaBrokerVersion": ("3.6.0", {"kafkaBrokerVersion": "API versions are negotiated"}),
    "kafkaLabels": ({"cluster": "prod"}, {"kafkaLabels": "config.collectors[].cluster"}),
    "verbosity": (1, {"verbosity": "logLevel"}),
    "sarama": ({"logEnabled": True}, {"sarama": "logLevel: debug"}),
    "rbac": ({"create": True, "pspEnabled": True}, {"rbac": "no Role is needed"}),
    "startup": ({"enabled": True}, {"startup": "startupProbe"}),
    "liveness": (
        {"enabled": True, "probe": {"httpGet": {"path": "/", "port": "exporter-port"}}},
        {"liveness": "livenessProbe"},
    ),
    "readiness": ({"enabled": False}, {"readiness": "readinessProbe"}),
    "prometheus": (
        {"serviceMonitor": {"enabled": True, "namespace": "monitoring", "interval": "30s",
                            "additionalLabels": {"release": "kps"}, "apiVersion": "v1"}},
        {
            "prometheus.serviceMonitor.enabled": "use serviceMonitor.enabled",
            "prometheus.serviceMonitor.namespace": "use serviceMonitor.namespace",
            "prometheus.serviceMonitor.interval": "use serviceMonitor.interval",
            "prometheus.serviceMonitor.additionalLabels": "use serviceMonitor.additionalLabels",
            "prometheus.serviceMonitor.apiVersion": "always monitoring.coreos.com/v1",
        },
    ),
    "tls": (
        {"enabled": True, "insecureSkipVerify": False, "serverName": "kafka", "secretName": "t"},
        {
            "tls.enabled": "config.collectors[].security_protocol: SSL",
            "tls.insecureSkipVerify": "config.collectors[].ssl_insecure_skip_verify",
            "tls.serverName": "config.collectors[].ssl_server_name",
            "tls.secretName": "extraVolumes and extraVolumeMounts",
        },
    ),
    "sasl": (
        {"enabled": True, "handshake": True,
         "scram": {"enabled": True, "mechanism": "scram-sha512", "username": "svc",
                   "password": "s3cret-Pa55"},
         "kerberos": {"enabled": False}},
        {
            "sasl.enabled": "config.collectors[].security_protocol: SASL_PLAINTEXT or SASL_SSL",
            "sasl.handshake": "always sent",
            "sasl.scram.enabled": "config.collectors[].sasl_mechanism",
            "sasl.scram.mechanism": "config.collectors[].sasl_mechanism",
            "sasl.scram.username": "sasl_username: ${KAFKA_USER}",
            "sasl.scram.password": "sasl_password: ${KAFKA_PASSWORD}",
            "sasl.kerberos": "GSSAPI",
        },
    ),
    "server": (
        {"tls": {"enabled": True, "mutualAuthEnabled": False}},
        {"server": "--web.config.file"},
    ),
    "kafka": ({"enabled": False}, {"kafka": "remove it"}),
    "containerSecurityContext": (
        {"readOnlyRootFilesystem": True},
        {"containerSecurityContext": "use securityContext"},
    ),
}  # fmt: skip


def refusal(values: dict[str, Any]) -> str:
    """The error `helm template` prints for `values` (it must fail)."""
    with pytest.raises(helm.HelmRenderError) as failed:
        render(values)
    return str(failed.value)


def test_every_key_of_their_chart_is_accepted_or_refused() -> None:
    assert set(ACCEPTED) | set(REFUSED) == THEIR_VALUES
    assert not set(ACCEPTED) & set(REFUSED)


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_their_key_is_refused_naming_the_replacement(key: str) -> None:
    value, expected = REFUSED[key]
    message = refusal({key: value})
    assert "prometheus-kafka-exporter" in message and "Migrating" in message
    lines = {
        line.strip().split(": ", 1)[0]: line.strip().split(": ", 1)[1]
        for line in message.splitlines()[1:]
    }
    assert set(lines) == set(expected), message
    for dotted, replacement in expected.items():
        assert replacement in lines[dotted], (dotted, lines[dotted])


def test_every_refusal_is_reported_at_once_and_no_value_is_shown() -> None:
    values = {key: value for key, (value, _) in REFUSED.items()}
    message = refusal(values)
    named = {line.strip().split(": ", 1)[0] for line in message.splitlines()[1:]}
    assert named == {dotted for _, expected in REFUSED.values() for dotted in expected}
    assert "s3cret-Pa55" not in message and "svc" not in message
    assert "kafka-server:9092" not in message


def test_a_null_value_is_unset_not_refused() -> None:
    """`kafkaBrokerVersion:` with nothing after it, as their values.yaml has it."""
    assert of_kind(render({"kafkaBrokerVersion": None, "sasl": {"mechanism": None}}), "Deployment")


@pytest.mark.parametrize(
    ("service", "named"),
    [({"labels": {"a": "b"}}, "commonLabels"), ({"loadBalancerIP": "10.0.0.9"}, "annotations")],
)
def test_their_service_keys_are_refused_naming_the_replacement(
    service: dict[str, Any], named: str
) -> None:
    (key,) = service
    message = refusal({"service": service})
    assert re.search(rf"^  service\.{key}: .*{named}", message, re.MULTILINE), message


def test_their_shared_keys_render_valid_objects_where_they_mean_the_same() -> None:
    docs = render(ACCEPTED)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    (dep,) = of_kind(docs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "kafka-health-exporter")
    assert container["image"] == "registry.example.com/khe:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == [
        {"name": "registry"}, {"name": "global-registry"}, {"name": "other"},
    ]  # fmt: skip
    assert pod["hostAliases"] == ACCEPTED["hostAliases"]
    assert dep["spec"]["replicas"] == 2
    assert pod["serviceAccountName"] == "khe"
    assert {"name": "TZ", "value": "UTC"} in container["env"]
    (service,) = of_kind(docs, "Service")
    assert (service["spec"]["type"], service["spec"]["ports"][0]["port"]) == ("NodePort", 9308)
    assert dep["spec"]["template"]["metadata"]["labels"]["tier"] == "monitoring"
    assert container["resources"] == ACCEPTED["resources"]
    for key in ("nodeSelector", "tolerations", "affinity"):
        assert pod[key] == ACCEPTED[key], key
    assert dep["metadata"]["annotations"] == {"owner": "kafka-team"}
    assert container["securityContext"]["runAsUser"] == 10001


def test_global_pull_secrets_are_listed_once() -> None:
    values = {"imagePullSecrets": [{"name": "a"}], "global": {"imagePullSecrets": ["a", "b"]}}
    (dep,) = of_kind(render(values), "Deployment")
    assert dep["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "a"}, {"name": "b"}]
