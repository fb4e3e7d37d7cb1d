"""``mycelium-bench --output FILE``: a file that cannot be written fails before any measuring."""

from __future__ import annotations

from pathlib import Path

import pytest

from mycelium_bench.cli import main


@pytest.mark.parametrize(
    ("name", "reason"),
    [("no-dir/report.json", "No such file or directory"), ("a-directory", "it is a directory")],
)
def test_an_unwritable_output_fails_at_once_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, reason: str
) -> None:
    (tmp_path / "a-directory").mkdir()
    target = tmp_path / name
    # Not --quiet: had anything been measured, its progress lines would be on stderr.
    assert main(["--quick", "--only", "send_ns", "--output", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"mycelium-bench: error: --output {target}: cannot write the file: {reason}\n"
    )


def test_a_writable_output_is_not_left_behind_by_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    argv = ["--quick", "--quiet", "--repeats", "1", "--warmup", "0", "--only", "send_ns"]
    assert main([*argv, "--output", str(target)]) == 0
    assert target.read_text().startswith("{")
    capsys.readouterr()
