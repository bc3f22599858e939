"""Release bundles built once per session: a test signing key, the dependency wheels
(cached across runs) and a bundle of this checkout signed with the test key; backups
made at a low key-derivation cost, and a pseudo-terminal as a reader's line."""

from __future__ import annotations

from pathlib import Path

import pytest
from support_backup import LOW
from support_bundle import dependency_wheels, make_bundle
from support_osdp import Line

from doorctl.core.maintenance.keys import PUBLIC_KEY_FILE, keygen


@pytest.fixture(scope="session")
def test_key(tmp_path_factory) -> Path:
    """A signing key of the tests' own (its public half is beside it)."""
    private, _public = keygen(tmp_path_factory.mktemp("test-key"))
    return private


@pytest.fixture(scope="session")
def test_public_key(test_key: Path, tmp_path_factory) -> Path:
    """The test key's public half, alone in a folder (as a folder of trusted keys)."""
    public = tmp_path_factory.mktemp("test-public-key") / "test.pem"
    public.write_bytes(test_key.with_name(PUBLIC_KEY_FILE).read_bytes())
    return public


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory) -> Path:
    """The dependency wheels for this machine, from .cache/wheels once downloaded."""
    return dependency_wheels(tmp_path_factory.mktemp("wheel-cache"))


@pytest.fixture(scope="session")
def bundle(tmp_path_factory, test_key: Path, wheel_cache: Path) -> Path:
    """A bundle of this checkout, at its own version, signed with the test key."""
    return make_bundle(tmp_path_factory.mktemp("bundle"), test_key, wheel_cache)


@pytest.fixture
def low_cost(app):
    """Backups of the app made at a low key-derivation cost (the product's is slow)."""
    app.config["BACKUP_COST"] = LOW
    return app


@pytest.fixture
def reader_line():
    """A pseudo-terminal for an OSDP reader's port (no reader needs to answer)."""
    pty = Line()
    yield pty
    pty.close()
