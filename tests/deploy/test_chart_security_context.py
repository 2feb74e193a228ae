"""Pod- and container-level security contexts: `podSecurityContext` takes exactly the fields of a
Kubernetes PodSecurityContext and lands on the pod, `securityContext` exactly those of a
SecurityContext and lands on the containers; a field of the other kind is refused naming the
value it belongs in. The field lists are the bundled Kubernetes schemas' (kubernetes-validate)."""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version, schema_contents

from tests.support.chart_render import CHART, KUBE_VERSION, of_kind, render

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
# A valid value of each field that exists in one of the two kinds only.
POD_ONLY = {
    "fsGroup": 2000,
    "fsGroupChangePolicy": "OnRootMismatch",
    "seLinuxChangePolicy": "MountOption",
    "supplementalGroups": [3000],
    "supplementalGroupsPolicy": "Merge",
    "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
}
CONTAINER_ONLY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "procMount": "Default",
    "readOnlyRootFilesystem": True,
}


def kubernetes_fields(kind: str) -> set[str]:
    """The fields of core/v1 `kind` in the newest Kubernetes schema kubernetes-validate has."""
    version = latest_version()
    path = f"kubernetes-json-schema/v{version}-local-strict/_definitions.json"
    definitions = schema_contents(path, version)["$defs"]
    return set(definitions[f"io.k8s.api.core.v1.{kind}"]["properties"])


def schema_of(value: str) -> dict[str, Any]:
    """The values-schema definition a top-level value refers to."""
    ref = SCHEMA["properties"][value]["$ref"]
    definition: dict[str, Any] = SCHEMA["definitions"][ref.rsplit("/", 1)[1]]
    return definition


def pod_spec(values: dict[str, Any], kube_version: str = KUBE_VERSION) -> dict[str, Any]:
    """The rendered Deployment's pod spec, every object validated strictly first."""
    docs = render(values)
    for doc in docs:
        kubernetes_validate.validate(doc, kube_version, strict=True)
    (dep,) = of_kind(docs, "Deployment")
    spec: dict[str, Any] = dep["spec"]["template"]["spec"]
    return spec


def test_field_lists_are_the_kubernetes_ones() -> None:
    pod, container = kubernetes_fields("PodSecurityContext"), kubernetes_fields("SecurityContext")
    assert set(POD_ONLY) == pod - container
    assert set(CONTAINER_ONLY) == container - pod
    for value, own in (("podSecurityContext", pod), ("securityContext", container)):
        definition = schema_of(value)
        assert definition["additionalProperties"] is False
        assert set(definition["properties"]) == pod | container, value
        typed = {k for k, v in definition["properties"].items() if set(v) != {"description"}}
        assert typed == own, value


def test_each_lands_in_its_place_and_validates() -> None:
    pod_ctx = {**POD_ONLY, "runAsUser": 10001, "runAsNonRoot": True}
    container_ctx = {**CONTAINER_ONLY, "runAsUser": 10001, "seccompProfile": {"type": "Localhost",
                     "localhostProfile": "profiles/khe.json"}}  # fmt: skip
    # seLinuxChangePolicy and supplementalGroupsPolicy are newer than KUBE_VERSION
    pod = pod_spec(
        {"podSecurityContext": pod_ctx, "securityContext": container_ctx}, latest_version()
    )
    defaults = {"runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["securityContext"] == {**defaults, **pod_ctx}
    merged = {**container_ctx, "runAsNonRoot": True}
    for container in pod["containers"] + pod["initContainers"]:
        assert container["securityContext"] == merged, container["name"]


def test_their_pod_security_context_under_ours_is_refused_naming_pod_security_context() -> None:
    """prometheus-kafka-exporter's `securityContext` is the pod's (its example values)."""
    theirs = {"fsGroup": 2000, "runAsGroup": 10002, "runAsUser": 10001,
              "seccompProfile": {"type": "RuntimeDefault"}}  # fmt: skip
    with pytest.raises(helm.HelmRenderError) as failed:
        render({"securityContext": theirs})
    (line,) = [x for x in str(failed.value).splitlines() if x.startswith("  ")]
    assert line == (
        "  securityContext.fsGroup is a pod-level field (PodSecurityContext): "
        "set podSecurityContext.fsGroup instead"
    )


@pytest.mark.parametrize("field", sorted(POD_ONLY))
def test_a_pod_field_under_security_context_names_pod_security_context(field: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=rf"set podSecurityContext\.{field} instead"):
        render({"securityContext": {field: POD_ONLY[field]}})


@pytest.mark.parametrize("field", sorted(CONTAINER_ONLY))
def test_a_container_field_under_pod_security_context_names_security_context(field: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=rf"set securityContext\.{field} instead"):
        render({"podSecurityContext": {field: CONTAINER_ONLY[field]}})


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"securityContext": {"fsgroup": 1}}, "'fsgroup' not allowed"),
        ({"podSecurityContext": {"runAsUser": "root"}}, "/podSecurityContext/runAsUser"),
        ({"podSecurityContext": {"seccompProfile": {"type": "Default"}}}, "seccompProfile/type"),
        ({"securityContext": {"capabilities": {"drop": "ALL"}}}, "capabilities/drop"),
    ],
)
def test_a_typo_or_wrong_type_is_refused_by_the_schema(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=where):
        render(values)


def test_a_null_removes_a_default() -> None:
    pod = pod_spec({"podSecurityContext": {"fsGroup": None}})
    assert "fsGroup" not in pod["securityContext"]
