"""README's kafka_exporter section maps every flag of kafka_exporter 1.9.0 (danielqsj/kafka_exporter,
kafka_exporter.go at tag v1.9.0, plus the --log.level/--log.format that promlog's flag package adds)
to a config key or flag here, or says why it is not supported; and the flags and keys it names
here exist."""

from __future__ import annotations

import re

from exporter.cli.main import build_parser
from tests.support.chart_render import ROOT

README = ROOT / "README.md"
KAFKA_EXPORTER_1_9_FLAGS = {
    "web.listen-address", "web.telemetry-path", "topic.filter", "topic.exclude", "group.filter",
    "group.exclude", "log.enable-sarama", "kafka.server", "sasl.enabled", "sasl.handshake",
    "sasl.username", "sasl.password", "sasl.aws-region", "sasl.mechanism", "sasl.service-name",
    "sasl.kerberos-config-path", "sasl.realm", "sasl.kerberos-auth-type", "sasl.keytab-path",
    "sasl.disable-PA-FX-FAST", "tls.enabled", "tls.server-name", "tls.ca-file", "tls.cert-file",
    "tls.key-file", "server.tls.enabled", "server.tls.mutual-auth-enabled", "server.tls.ca-file",
    "server.tls.cert-file", "server.tls.key-file", "tls.insecure-skip-tls-verify",
    "kafka.version", "use.consumelag.zookeeper", "zookeeper.server", "kafka.labels",
    "refresh.metadata", "offset.show-all", "concurrent.enable", "topic.workers",
    "kafka.allow-auto-topic-creation", "verbosity", "log.level", "log.format", "version",
}  # fmt: skip


def flag_table() -> list[tuple[str, str]]:
    section = README.read_text().split("#### Coming from kafka_exporter", 1)[1]
    section = section.split("<!-- section:", 1)[0]
    table = section.split("| kafka_exporter 1.9 flag | here |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.strip().splitlines()[1:]:
        theirs, here = (c.strip() for c in line.strip().strip("|").split(" | ", 1))
        rows.append((theirs, here))
    return rows


def test_every_kafka_exporter_flag_is_mapped() -> None:
    rows = flag_table()
    named = {f for theirs, _ in rows for f in re.findall(r"--([\w.-]+)", theirs)}
    assert named >= KAFKA_EXPORTER_1_9_FLAGS, (
        f"not mapped: {sorted(KAFKA_EXPORTER_1_9_FLAGS - named)}"
    )
    assert named <= KAFKA_EXPORTER_1_9_FLAGS, (
        f"not kafka_exporter 1.9 flags: {sorted(named - KAFKA_EXPORTER_1_9_FLAGS)}"
    )
    for theirs, here in rows:
        assert len(here) > 8, theirs
        if here.startswith("not supported"):
            assert ":" in here, f"{theirs}: say why"


def test_our_flags_it_names_exist() -> None:
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    ours = {o for action in run._actions for o in action.option_strings}
    ours |= {"--version", "-h"}
    for _, here in flag_table():
        for flag in re.findall(r"`(--[\w.-]+)", here):
            if flag[2:] in KAFKA_EXPORTER_1_9_FLAGS - {"web.telemetry-path", "version"}:
                continue  # kafka_exporter's own flag, quoted in an explanation
            assert flag in ours, flag
    assert "--web.telemetry-path" in ours


def test_healthz_and_the_minus_one_rewrites_are_documented() -> None:
    text = README.read_text()
    assert "kafka_exporter's `/healthz` answers `ok` here too" in text
    assert "kafka_exporter 1.9 emits 1 too" in text
    assert "`kafka_consumergroup_lag == -1`" in text
    assert "`groups.only_active:\ntrue` here drops a group without members entirely" in text
