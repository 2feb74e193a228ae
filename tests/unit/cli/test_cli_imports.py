"""What each command imports: the exec probe only the standard library, `--version` nothing of the
daemon, `check-config` the config models without aiohttp or any client library. Measured in a
fresh interpreter per command (`sys.modules` after the command ran)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.exporter_process import ROOT

CLIENT_LIBRARIES = {"aiohttp", "aiokafka", "alibabacloud_cms20190101", "bcrypt"}
SCRIPT = """
import json, sys
started = set(sys.modules)  # what the interpreter and site loaded before the command
from exporter.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted({m.split(".")[0] for m in set(sys.modules) - started})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _top_level_modules(*args: str) -> tuple[object, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], set(result["loaded"])


def test_the_url_probe_imports_only_the_standard_library() -> None:
    code, loaded = _top_level_modules("probe", "--url", "http://127.0.0.1:1/health")
    assert code == 1  # nothing listens there: unhealthy, and said so
    foreign = loaded - set(sys.stdlib_module_names) - {"exporter", "__main__"}
    assert not foreign, f"the probe imported {sorted(foreign)}"


def test_version_imports_nothing_of_the_daemon() -> None:
    code, loaded = _top_level_modules("--version")
    assert code == 0
    assert not loaded & (CLIENT_LIBRARIES | {"pydantic", "yaml", "prometheus_client"})


def test_check_config_loads_the_models_without_aiohttp_or_clients(tmp_path: Path) -> None:
    config = tmp_path / "all-kinds.yaml"
    config.write_text(
        """
collectors:
  - {name: k, type: kafka, bootstrap_servers: ["127.0.0.1:9092"]}
  - {name: j, type: jmx, port: 5555}
  - {name: c, type: aliyun_cms, region_id: cn-hangzhou, access_key_id: id,
     access_key_secret: secret, instance_ids: [alikafka_x]}
"""
    )
    code, loaded = _top_level_modules("check-config", "-c", str(config))
    assert code == 0
    assert "pydantic" in loaded  # the models were really validated
    assert not loaded & CLIENT_LIBRARIES, sorted(loaded & CLIENT_LIBRARIES)
