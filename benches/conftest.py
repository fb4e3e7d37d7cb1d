"""Test-wide configuration: every async test runs on a real uvloop event loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
import uvloop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], uvloop.Loop]]:
    """Run every asyncio test on uvloop, the loop the bundle uses in production."""
    return {"uvloop": uvloop.new_event_loop}
