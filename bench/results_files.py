"""Where the single-purpose benches (post_read, render_blocks, jmx_bridge) write their results:
bench/results/<UTC minute>-<kind>.json with every number, and .md with its table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def stamp() -> str:
    """The results' name prefix: the UTC minute now."""
    return time.strftime("%Y-%m-%dT%H%M", time.gmtime())


def write_results(prefix: str, kind: str, result: dict[str, Any], markdown: str) -> None:
    """Write `<prefix>-<kind>.json` (`result`, indented) and `<prefix>-<kind>.md` (`markdown`)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{prefix}-{kind}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{prefix}-{kind}.md").write_text(markdown)
