"""Fixtures and helpers shared by the host tests."""

import os
import shutil

import pytest


def require_tools(*tools: str) -> None:
    """Skips the calling test if a tool is missing from PATH; under CI=true, fails it."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not on PATH (run scripts/setup.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def need_tools():
    """require_tools for test modules that can't import conftest."""
    return require_tools
