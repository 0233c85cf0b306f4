"""Fixtures the plugin tests share."""

from __future__ import annotations

import pytest


@pytest.fixture
def running_hub(tmp_path):
    """A hub of its own (SQLite in a temporary directory), to run messages through its
    pipeline: how the hub names a refusal the shared schema makes."""
    from hub.config import load_settings
    from hub.runtime import Hub

    h = Hub(load_settings({"hub": {"var_dir": str(tmp_path / "var")}}, environ={}))
    yield h
    h.shutdown()
