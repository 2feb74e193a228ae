"""Java programs under tests/support built with Maven per Kafka version into `.cache/`: once, and
again whenever a source file is newer than the jar (so a changed program is never run stale)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"


def maven_classpath(name: str, version: str, jar_name: str, marker: str) -> str:
    """The classpath of tests/support/`name` built for Kafka `version` into
    `.cache/<name>-<version>/` (Maven's `target/<jar_name>` and `libs/`); `marker` is a library
    jar (a glob under libs/) whose absence means the dependencies are not copied yet."""
    sources = ROOT / "tests" / "support" / name
    base = CACHE / f"{name}-{version}"
    jar = base / "target" / jar_name
    libs = base / "libs"
    CACHE.mkdir(exist_ok=True)
    with (CACHE / f"{name}-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions build once
        newest = max(path.stat().st_mtime for path in sources.rglob("*") if path.is_file())
        built = jar.stat().st_mtime if jar.exists() else 0.0
        if built < newest or not any(libs.glob(marker)):
            mvn = shutil.which("mvn")
            assert mvn, f"mvn is needed to build tests/support/{name}"
            done = subprocess.run(
                [mvn, "-q", "-B", "-f", str(sources / "pom.xml"), f"-Dkafka.version={version}",
                 "package", "dependency:copy-dependencies"],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0 and jar.exists(), (
                f"mvn could not build tests/support/{name} for Kafka {version}:"
                f" {done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
    return f"{jar}:{libs}/*"
