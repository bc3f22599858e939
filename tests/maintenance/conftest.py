"""Fixtures of the Maintenance tests."""

from __future__ import annotations

import pytest
from support_backup import LOW
from support_osdp import Line


@pytest.fixture
def low_cost(app):
    app.config["BACKUP_COST"] = LOW
    return app


@pytest.fixture
def line():
    pty = Line()
    yield pty
    pty.close()
