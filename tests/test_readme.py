"""The README's examples run and print what the README says they print; it names what it must.

Every ```python block of the README runs in a fresh interpreter; where a line ends with
``print(...)  # text``, the block's output is those texts, in order. The cross-process example
runs as the two programs it describes, over a real Unix socket in a temporary directory.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import mycelium.errors
import mycelium_types

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CROSS_PROCESS = "RemoteActorRef(await UnixSocketTransport.connect(path), Add)"


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", _text(), flags=re.S)


def _printed(block: str) -> list[str]:
    """What the block says it prints: the comment after each ``print(...)`` that has one."""
    return re.findall(r"^\s*print\(.*\)\s+# (.*)$", block, flags=re.M)


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_runtime_example_runs_and_prints_the_answer() -> None:
    [example] = [block for block in _python_blocks() if "class Counter(Actor[int])" in block]
    done = _run("-c", example)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"


SELF_CONTAINED = [block for block in _python_blocks() if CROSS_PROCESS not in block]


@pytest.mark.parametrize(
    "block", SELF_CONTAINED, ids=[f"block{i}" for i in range(len(SELF_CONTAINED))]
)
def test_every_example_prints_what_its_comments_say(block: str) -> None:
    done = _run("-c", block)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == _printed(block)


def test_the_cross_process_example_runs_as_two_processes(tmp_path: Path) -> None:
    [example] = [block for block in _python_blocks() if CROSS_PROCESS in block]
    program = tmp_path / "adder.py"
    program.write_text(example, encoding="utf-8")
    socket = tmp_path / "adder.sock"
    server = subprocess.Popen(
        [sys.executable, str(program), "serve", str(socket)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline() == "listening\n"  # waits for the server to be ready
        client = _run(str(program), "ask", str(socket), cwd=tmp_path)
        assert client.returncode == 0, client.stderr
        assert client.stdout.splitlines() == _printed(example) == ["6"]
        # The client closed its connection: the server's wait ends and it exits cleanly.
        assert server.wait(timeout=60) == 0
        assert server.stderr is not None
        assert server.stderr.read() == ""
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()


def test_the_readme_starts_with_the_two_commands() -> None:
    text = _text()
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands[:2] == ["uv run mycelium-bundle", "uv run pytest"]


def test_the_readme_points_at_nothing_outside_the_repository() -> None:
    text = _text()
    assert "../" not in text
    assert "shared/seed" not in text


def _public_errors() -> list[str]:
    return [
        name
        for name in mycelium.errors.__all__
        if isinstance(getattr(mycelium.errors, name), type)
        and issubclass(getattr(mycelium.errors, name), BaseException)
        and name != "MyceliumError"
    ]


def test_the_error_list_names_every_public_error() -> None:
    text = _text()
    errors = text.split("- Errors, all `MyceliumError`:", 1)[1].split("\n- ", 1)[0]
    missing = [name for name in _public_errors() if f"`{name}`" not in errors]
    assert missing == []


@pytest.mark.parametrize(
    "item",
    [
        "`SPEEDUPS`",
        "dead_letter_history=16",
        "`trim_interval=None`",
        "`actors`",
        "`len(system)`",
        "`timeout=None`",
        "`message_type`",
    ],
)
def test_the_api_list_documents(item: str) -> None:
    api = _text().split("### API\n", 1)[1].split("\n### ", 1)[0]
    assert item in api


def test_the_schema_section_documents_the_codec_api() -> None:
    schema = _text().split("## The message schema (`mycelium_types`)", 1)[1].split("\n## ", 1)[0]
    codec = ["encode", "encode_json", "decode", "decode_json", "validate", "MessageDecodeError"]
    codec += ["MARKET_DECODER", "SIGNAL_DECODER", "MessageDecoder"]
    assert set(codec) <= set(mycelium_types.__all__)
    missing = [name for name in codec if f"`{name}" not in schema]
    assert missing == []


def test_the_fault_tolerance_example_runs_and_prints_what_it_says() -> None:
    [example] = [block for block in _python_blocks() if "Supervision.restart(" in block]
    done = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    expected = [
        comment.split("#")[-1].strip().split(":")[0]
        for comment in example.splitlines()
        if comment.strip().startswith("print(")
    ]
    assert done.stdout.splitlines() == expected
