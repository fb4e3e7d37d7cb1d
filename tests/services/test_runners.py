"""Choosing the deployment for --mode (services_v2.bundle.runners)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from services_v2.bundle.runners import MODES, ModeUnavailable, resolve_runner
from services_v2.pipeline import run_reference

ABSENT = ("services_v2.no_such_deployment", "run")


def test_the_modes_are_actors_then_relay() -> None:
    assert MODES == ("actors", "relay")


def test_actors_fall_back_to_the_sequential_reference_and_say_so() -> None:
    resolved = resolve_runner("actors", deployments={"actors": ABSENT})
    assert resolved.run is run_reference
    assert resolved.requested == "actors"
    assert resolved.note is not None
    assert "services_v2.no_such_deployment" in resolved.note
    assert "mode: sequential" in resolved.note


def test_a_missing_top_level_package_also_counts_as_absent() -> None:
    resolved = resolve_runner("actors", deployments={"actors": ("no_such_package_x.pipeline", "f")})
    assert resolved.run is run_reference


def test_relay_without_a_deployment_is_an_error() -> None:
    with pytest.raises(ModeUnavailable, match=r"^mode 'relay' is not implemented yet \("):
        resolve_runner("relay", deployments={"relay": ABSENT})


def test_a_present_deployment_is_used_as_is() -> None:
    table = {"actors": ("services_v2.pipeline.reference", "run_reference")}
    resolved = resolve_runner("actors", deployments=table)
    assert resolved.run is run_reference
    assert resolved.note is None


def test_a_deployment_without_its_function_is_an_error() -> None:
    table = {"relay": ("services_v2.pipeline.reference", "run_relay_pipeline")}
    with pytest.raises(ModeUnavailable, match=r"has no function run_relay_pipeline\(\)"):
        resolve_runner("relay", deployments=table)


def test_an_unknown_mode_is_an_error() -> None:
    with pytest.raises(ModeUnavailable, match=r"^unknown mode 'swarm'; choose one of actors$"):
        resolve_runner("swarm", deployments={"actors": ABSENT})


def test_a_deployment_that_fails_to_import_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_deployment_for_test.py").write_text("import missing_dependency_for_test\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    with pytest.raises(ModuleNotFoundError, match="missing_dependency_for_test"):
        resolve_runner("actors", deployments={"actors": ("broken_deployment_for_test", "run")})
