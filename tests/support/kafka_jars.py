"""Which Apache Kafka the tests run, its jars from Maven Central, and the java command line.

`tests/support/kafka/pom.xml` copies `org.apache.kafka:kafka_2.13` (with `kafka-tools` and a log4j2
binding) into `.cache/kafka-<version>/libs`; `.ci/run` does it before the suite, and
`kafka_jars()` does it on first use otherwise. `java_command()` runs a main class of that
version with a small heap and the test log configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POM = ROOT / "tests" / "support" / "kafka" / "pom.xml"
LOG4J2 = ROOT / "tests" / "support" / "kafka" / "log4j2.properties"
LOG4J1 = ROOT / "tests" / "support" / "kafka" / "log4j.properties"
CACHE = ROOT / ".cache"
KAFKA_4 = os.environ.get("KHE_KAFKA4_VERSION", "4.4.0")
"""The newest Kafka 4.x on Maven Central (the main target)."""
KAFKA_3 = os.environ.get("KHE_KAFKA3_VERSION", "3.9.2")
"""The newest 3.9.x (the previous major)."""
HEAP = "-Xmx384m"


class KafkaUnavailable(RuntimeError):
    """The jars cannot be resolved or a node did not start."""


def kafka_jars(version: str) -> Path:
    """The directory holding Kafka `version`'s jars, resolved with Maven on first use."""
    libs = CACHE / f"kafka-{version}" / "libs"
    if not any(libs.glob(f"kafka_2.13-{version}.jar")):
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaUnavailable("mvn not found: the Kafka test broker comes from Maven Central")
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}",
             "dependency:copy-dependencies"],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
            raise KafkaUnavailable(
                f"mvn could not resolve Kafka {version}: {result.stdout[-2000:]}{result.stderr}"
            )
    return libs


def java_command(version: str, main: str, *args: str, jvm: tuple[str, ...] = ()) -> list[str]:
    """`java ... main args` with Kafka `version`'s jars on the classpath."""
    return [
        "java", HEAP, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
        f"-Dlog4j2.configurationFile={LOG4J2}", f"-Dlog4j.configuration=file:{LOG4J1}",
        *jvm, "-cp", f"{kafka_jars(version)}/*", main, *args,
    ]  # fmt: skip
