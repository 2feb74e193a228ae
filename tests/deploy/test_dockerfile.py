"""The Dockerfile, checked without a Docker engine: parsed, its rules asserted, and its build stage
replayed for real (COPY sources into a temp context, its RUN commands in a clean venv)."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    """One `FROM ... AS name` block with its instructions (instruction, value) in order."""

    image: str
    name: str
    steps: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        """Values of every `instruction` in this stage."""
        return [v for i, v in self.steps if i == instruction]


def stages() -> list[Stage]:
    """The Dockerfile's stages, base images resolved with the ARG defaults."""
    parser = DockerfileParser(str(DOCKERFILE), cache_content=True)
    images = iter(parser.parent_images)
    out: list[Stage] = []
    for item in parser.structure:
        instruction, value = item["instruction"], item["value"]
        if instruction == "FROM":
            parts = value.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(out))
            out.append(Stage(next(images), name))
        elif out and instruction != "COMMENT":
            out[-1].steps.append((instruction, value))
    return out


def copy_sources(stage: Stage) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY from the build context (not `--from`)."""
    out = []
    for value in stage.values("COPY"):
        args = shlex.split(value)
        if any(a.startswith("--from") for a in args):
            continue
        args = [a for a in args if not a.startswith("--")]
        out.append((args[:-1], args[-1]))
    return out


def dockerignore_patterns() -> list[str]:
    """Patterns of .dockerignore (comments and blank lines dropped)."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def ignored(rel: str, patterns: list[str]) -> bool:
    """Whether the path (relative to the context) is excluded, `**/` matching any depth."""
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        parts = rel.split("/")
        if fnmatch.fnmatch(rel, pattern) or any(
            fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))
        ):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(p, bare) for p in parts):
            return True
    return False


def test_multi_stage_on_a_slim_base() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2, "expected a build stage and a runtime stage"
    for stage in all_stages:
        assert "slim" in stage.image, f"stage {stage.name} uses {stage.image}, not a slim image"
    runtime = all_stages[-1]
    copies_from_build = [v for v in runtime.values("COPY") if v.startswith("--from=")]
    assert copies_from_build, "the runtime stage copies nothing from the build stage"
    assert not any("pip install" in r for r in runtime.values("RUN")), "runtime stage builds"


def test_runtime_contract() -> None:
    runtime = stages()[-1]
    users = runtime.values("USER")
    assert users, "no USER in the runtime stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]!r} is not a non-root numeric uid"
    assert not gid or (gid.isdigit() and int(gid) != 0), f"USER group {gid!r} not numeric non-root"
    assert runtime.values("EXPOSE") == ["9876"]
    assert json.loads(runtime.values("ENTRYPOINT")[-1]) == ["kafka-health-exporter"]
    assert json.loads(runtime.values("CMD")[-1]) == [
        "run", "-c", "/etc/kafka-health-exporter/config.yaml",
    ]  # fmt: skip
    env = " ".join(runtime.values("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env, "a read-only root filesystem needs no .pyc writes"


def test_jre_is_a_build_arg_default_on_and_skipped_when_off(tmp_path: Path) -> None:
    runtime = stages()[-1]
    assert "WITH_JRE=true" in runtime.values("ARG")
    jre_runs = [r for r in runtime.values("RUN") if "jre" in r]
    assert len(jre_runs) == 1 and "$WITH_JRE" in jre_runs[0]
    script = jre_runs[0]
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    # Run it for real with no programs on PATH: off, it must succeed without calling anything;
    # on, it must try to install (and fail here, harmlessly, as mkdir/apt-get are not found).
    for flag, expect_ok in (("false", True), ("true", False)):
        env = {"PATH": str(tmp_path / "empty"), "WITH_JRE": flag}
        done = subprocess.run(["/bin/sh", "-c", script], env=env, check=False, capture_output=True)
        assert (done.returncode == 0) is expect_ok, (flag, done.stderr)


def test_extras_are_a_build_arg_and_kerberos_brings_its_libraries(tmp_path: Path) -> None:
    """EXTRAS=kerberos,aws installs the package's extras; kerberos also libkrb5-dev to build
    gssapi and libgssapi-krb5-2 to run it; empty (the default) installs neither."""
    build, runtime = stages()[0], stages()[-1]
    assert 'EXTRAS=""' in build.values("ARG") and 'EXTRAS=""' in runtime.values("ARG")
    install = [r for r in build.values("RUN") if "pip install" in r]
    assert install == ['python -m pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"']
    for stage, package in ((build, "libkrb5-dev"), (runtime, "libgssapi-krb5-2")):
        runs = [r for r in stage.values("RUN") if "$EXTRAS" in r and "apt-get" in r]
        assert len(runs) == 1 and package in runs[0], (stage.name, runs)
        for extras, calls_apt in (
            ("", False),
            ("aws", False),
            ("kerberos", True),
            ("aws,kerberos", True),
        ):
            env = {"PATH": str(tmp_path / "empty"), "EXTRAS": extras}
            done = subprocess.run(
                ["/bin/sh", "-c", runs[0]], env=env, capture_output=True, text=True
            )
            assert (done.returncode != 0) is calls_apt, (stage.name, extras, done.stderr)
    for extras, spec in (("", "."), ("kerberos,aws", ".[kerberos,aws]")):
        shown = subprocess.run(
            ["/bin/sh", "-c", 'echo ".${EXTRAS:+[$EXTRAS]}"'], env={"EXTRAS": extras},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert shown.stdout.strip() == spec


def test_every_copy_source_exists_and_is_not_dockerignored() -> None:
    patterns = dockerignore_patterns()
    for stage in stages():
        for sources, _ in copy_sources(stage):
            for source in sources:
                assert (ROOT / source).exists(), f"COPY source {source} does not exist"
                assert not ignored(source, patterns), f"COPY source {source} is in .dockerignore"
    assert ignored("tests/test_x.py", patterns) and ignored("exporter/__pycache__/a.pyc", patterns)


@pytest.mark.timeout(600)
def test_build_stage_installs_in_a_clean_venv(tmp_path: Path) -> None:
    """Replay the build stage: its COPYs into a temp context, its RUNs with /opt/venv moved."""
    build = stages()[0]
    venv = tmp_path / "opt-venv"
    workdir = tmp_path / "context"
    workdir.mkdir()
    patterns = dockerignore_patterns()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    for instruction, value in build.steps:
        if instruction == "WORKDIR":
            workdir = tmp_path / "context" / value.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            for key, val in (kv.split("=", 1) for kv in shlex.split(value)):
                env[key] = val.replace("/opt/venv", str(venv)).replace("$PATH", env["PATH"])
        elif instruction == "COPY":
            (sources, dest), *_ = copy_sources(Stage("", "", [("COPY", value)]))
            for source in sources:
                target = (
                    workdir / dest / Path(source).name if dest.endswith("/") else workdir / dest
                )
                src = ROOT / source
                if src.is_dir():
                    shutil.copytree(src, target, ignore=_dockerignored(patterns))
                else:
                    shutil.copy2(src, target)
        elif instruction == "RUN":
            command = value.replace("/opt/venv", str(venv))
            done = subprocess.run(
                ["sh", "-c", command],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=540,
            )
            assert done.returncode == 0, f"RUN {value} failed:\n{done.stdout[-3000:]}{done.stderr}"
    script = venv / "bin" / "kafka-health-exporter"
    assert script.exists(), "the build stage did not install the console script"
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout


def _dockerignored(patterns: list[str]) -> Callable[[str, list[str]], set[str]]:
    """A copytree `ignore` callback honouring .dockerignore."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel_dir = Path(directory).relative_to(ROOT).as_posix()
        return {n for n in names if ignored(f"{rel_dir}/{n}", patterns)}

    return ignore
