"""The release workflow (.github/workflows/release.yml), parsed: a version tag builds and pushes
the image for linux/amd64 and linux/arm64 tagged with the version, and packages the chart with that
version and attaches it to the release. Its shell steps run here for real (bash, the chart packaged
with helm-python-sdk as the workflow packages it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from exporter import __version__
from tests.support.chart_render import CHART, ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
VERSION_OUTPUT = "${{ needs.version.outputs.version }}"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def step(job: str, *, uses: str | None = None, step_id: str | None = None) -> dict[str, Any]:
    for candidate in steps(job):
        if uses and candidate.get("uses", "").split("@")[0] == uses:
            return candidate
        if step_id and candidate.get("id") == step_id:
            return candidate
    raise AssertionError(f"job {job} has no step {uses or step_id}")


def index_of(job: str, uses: str) -> int:
    return next(i for i, s in enumerate(steps(job)) if s.get("uses", "").startswith(uses + "@"))


def github_filter(pattern: str) -> re.Pattern[str]:
    """A GitHub Actions branch/tag filter pattern as a regex (`*`, `**`, `+`, `?`, `[...]`)."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
            continue
        out += {"*": "[^/]*", "+": "+", "?": "?"}.get(c, re.escape(c))
        i += 1
    return re.compile(out)


def run_step(
    script: str, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a `run:` script with bash as the runner does, in the repository; its GITHUB_OUTPUT."""
    output = tmp_path / "github_output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    pairs = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
    return done, pairs


def test_runs_on_version_tags_only() -> None:
    on = workflow()["on"]
    assert set(on) == {"push"} and set(on["push"]) == {"tags"}
    patterns = [github_filter(p) for p in on["push"]["tags"]]

    def matches(tag: str) -> bool:
        return any(p.fullmatch(tag) for p in patterns)

    for tag in ("v0.1.0", "v1.12.3", "v2.0.0-rc.1"):
        assert matches(tag), tag
    for tag in ("0.1.0", "latest", "v1", "v1.2", "main"):
        assert not matches(tag), tag
    assert workflow()["permissions"] == {"contents": "write", "packages": "write"}


def test_image_is_built_for_amd64_and_arm64_and_tagged_with_the_version() -> None:
    jobs = workflow()["jobs"]
    assert "version" in jobs["image"]["needs"]
    build = step("image", uses="docker/build-push-action")
    assert index_of("image", "docker/setup-qemu-action") < index_of(
        "image", "docker/build-push-action"
    )
    assert index_of("image", "docker/setup-buildx-action") < index_of(
        "image", "docker/build-push-action"
    )
    assert index_of("image", "docker/login-action") < index_of("image", "docker/build-push-action")
    settings = build["with"]
    platforms = settings["platforms"]
    if platforms == "${{ env.PLATFORMS }}":
        platforms = workflow()["env"]["PLATFORMS"]
    assert sorted(platforms.split(",")) == ["linux/amd64", "linux/arm64"]
    assert settings["push"] is True
    assert settings["context"] == "."
    tag = settings["tags"].strip()
    assert "\n" not in tag and "," not in tag, "one tag: the version"
    assert tag == "${{ steps.registry.outputs.repository }}:" + VERSION_OUTPUT
    assert jobs["version"]["outputs"]["version"] == "${{ steps.version.outputs.version }}"


def test_chart_is_packaged_with_the_version_and_attached() -> None:
    jobs = workflow()["jobs"]
    assert set(jobs["chart"]["needs"]) == {"version", "image"}, "no chart without its image"
    scripts = "\n".join(s.get("run", "") for s in steps("chart"))
    assert "helm package charts/kafka-health-exporter" in scripts
    assert f'--version "{VERSION_OUTPUT}"' in scripts
    assert f'--app-version "{VERSION_OUTPUT}"' in scripts
    assert f'chart="dist/kafka-health-exporter-{VERSION_OUTPUT}.tgz"' in scripts
    assert 'gh release upload "$GITHUB_REF_NAME" "$chart"' in scripts


def test_packaged_name_is_the_one_the_workflow_uploads(tmp_path: Path) -> None:
    archive = Path(
        helm.package(
            str(CHART), destination=str(tmp_path), version=__version__, app_version=__version__
        )
    )
    assert archive.name == f"kafka-health-exporter-{__version__}.tgz"


def test_version_step_accepts_the_matching_tag_only(tmp_path: Path) -> None:
    script = step("version", step_id="version")["run"]
    done, outputs = run_step(script, tmp_path, GITHUB_REF_NAME=f"v{__version__}")
    assert done.returncode == 0, done.stderr
    assert outputs == {"version": __version__}
    done, outputs = run_step(script, tmp_path, GITHUB_REF_NAME="v9.9.9")
    assert done.returncode == 1 and not outputs
    assert (
        f"::error::tag v9.9.9 is version 9.9.9 but exporter.__version__ is {__version__}"
        in done.stdout
    )
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["version"] == chart["appVersion"] == __version__, "a release tag could never pass"


@pytest.mark.parametrize(
    ("repository", "host", "name"),
    [
        ("ghcr.io/Acme/kafka-health-exporter", "ghcr.io", "ghcr.io/acme/kafka-health-exporter"),
        (
            "registry.example.com:5000/team/khe",
            "registry.example.com:5000",
            "registry.example.com:5000/team/khe",
        ),
        ("acme/khe", "docker.io", "acme/khe"),
    ],
)
def test_registry_step_finds_the_host_and_lowercases(
    repository: str, host: str, name: str, tmp_path: Path
) -> None:
    script = step("image", step_id="registry")["run"]
    done, outputs = run_step(script, tmp_path, IMAGE_REPOSITORY=repository)
    assert done.returncode == 0, done.stderr
    assert outputs == {"host": host, "repository": name}
