"""``.github/workflows/codspeed.yml`` is a valid GitHub workflow that runs the benches.

It cannot run here, so it is checked against the GitHub-workflow JSON schema that
check-jsonschema vendors (no network), and for what it must do.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "codspeed.yml"


def test_codspeed_workflow_matches_the_github_workflow_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_codspeed_workflow_runs_the_benches_under_codspeed_on_pull_requests() -> None:
    text = WORKFLOW.read_text()
    assert "pull_request:" in text
    assert "branches: [main]" in text
    assert "uses: CodSpeedHQ/action@v4" in text
    assert "mode: simulation" in text
    assert "run: uv run pytest benches --codspeed" in text
    assert "uv sync --locked" in text
