"""prometheus-adapter's external-metric query building, ported for tests.

Follows kubernetes-sigs/prometheus-adapter `pkg/naming/metrics_query.go` (`BuildExternal`,
`processQueryParts`, `selectMatcher`, `selectTargetValue`) and `pkg/client/helpers.go`:
- the HPA's `metric.selector` becomes Kubernetes label requirements, sorted by key (as
  `labels.Selector` keeps them), values of a set sorted;
- each requirement becomes a PromQL matcher: one value `=` / `!=`, `In` / `NotIn` `=~` / `!~`
  with values joined by `|`, `Exists` `!=""`, `DoesNotExist` `=""`;
- unless the rule has `resources.namespaced: false`, a matcher `<namespace label>="<HPA namespace>"`
  is appended, the label being the one the rule's resource overrides map to `namespace`;
- `<<.GroupBy>>` is always empty for external metrics (`QueryForExternalSeries` passes "").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Requirement:
    """One Kubernetes label requirement (key, operator, values)."""

    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()


def requirements(selector: Mapping[str, Any]) -> list[Requirement]:
    """An HPA `metric.selector` (matchLabels / matchExpressions) as sorted requirements."""
    out = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        values = tuple(sorted(set(expr.get("values") or [])))
        out.append(Requirement(expr["key"], operators[expr["operator"]], values))
    return sorted(out, key=lambda r: r.key)


def _quote(value: str) -> str:
    """Go's %q for the label values tests use (ASCII): a double-quoted, escaped string."""
    return json.dumps(value)


def matcher(req: Requirement) -> str:
    """The PromQL matcher the adapter builds for one requirement."""
    n = len(req.values)
    if n == 0:
        if req.operator == "exists":
            return f'{req.key}!=""'
        if req.operator == "!":
            return f'{req.key}=""'
        raise ValueError(f"malformed requirement {req}")
    target = req.values[0] if n == 1 else "|".join(req.values)
    if n == 1 and req.operator == "=":
        return f"{req.key}={_quote(target)}"
    if n == 1 and req.operator == "!=":
        return f"{req.key}!={_quote(target)}"
    if req.operator in ("=", "in"):
        return f"{req.key}=~{_quote(target)}"
    if req.operator in ("!=", "notin"):
        return f"{req.key}!~{_quote(target)}"
    raise ValueError(f"operator {req.operator} takes no values")


def namespace_label(rule: Mapping[str, Any]) -> str | None:
    """The label the rule maps to the `namespace` resource, or None when `namespaced: false`."""
    resources = rule.get("resources") or {}
    if resources.get("namespaced") is False:
        return None
    for label, target in (resources.get("overrides") or {}).items():
        if target.get("resource") in ("namespace", "namespaces") and not target.get("group"):
            return str(label)
    template = resources.get("template")
    if template:
        return str(template.replace("<<.Group>>", "").replace("<<.Resource>>", "namespace"))
    raise ValueError("unable to convert resource namespaces into label: no override or template")


def series_name(rule: Mapping[str, Any]) -> str:
    """The metric name a rule's seriesQuery selects (`{__name__="x",...}` or `x{...}`)."""
    query = str(rule["seriesQuery"])
    found = re.search(r'__name__="([^"]+)"', query) or re.match(r"\s*([a-zA-Z_:][\w:]*)", query)
    assert found, f"no metric name in {query}"
    return found.group(1)


def label_matchers(rule: Mapping[str, Any], selector: Mapping[str, Any], hpa_namespace: str) -> str:
    """`<<.LabelMatchers>>` for an HPA in `hpa_namespace` with `selector`, under `rule`."""
    exprs = [matcher(r) for r in requirements(selector)]
    label = namespace_label(rule)
    if label is not None and hpa_namespace:
        exprs.append(matcher(Requirement(label, "=", (hpa_namespace,))))
    return ",".join(exprs)


def build_external_query(
    rule: Mapping[str, Any],
    selector: Mapping[str, Any],
    hpa_namespace: str,
    series: str | None = None,
) -> str:
    """The PromQL the adapter sends to Prometheus for this rule and HPA."""
    args = {
        "Series": series or series_name(rule),
        "LabelMatchers": label_matchers(rule, selector, hpa_namespace),
        "GroupBy": "",
        "GroupBySlice": "[]",
    }
    template = str(rule["metricsQuery"])

    def fill(match: re.Match[str]) -> str:
        return args[match.group(1)]

    query = re.sub(r"<<\s*\.(\w+)\s*>>", fill, template)
    assert "<<" not in query, f"unsupported placeholder left in {query}"
    return query


def rules_of(values: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """`rules.external` of a prometheus-adapter chart values document."""
    rules: Sequence[Mapping[str, Any]] = values["rules"]["external"]
    return rules
