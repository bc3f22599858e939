"""What the System section's MQTT tests share: a broker with every kind of listener
(TCP, TLS, WebSocket, WebSocket over TLS) and its test CA, one per module, and an
observer subscribed to everything on it. A module that needs another broker declares
its own fixture of the same name. The kiosk's tests share its login token."""

from __future__ import annotations

import pytest
from brokers import Broker, Pki
from mqtt_helpers import Observer


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory, pki):
    """One broker with every kind of listener, shared by the module."""
    b = Broker(tmp_path_factory.mktemp("broker"), ("ssl", "ws", "wss"), pki).start()
    yield b
    b.stop()


@pytest.fixture
def observer(broker):
    o = Observer(broker.port)
    yield o
    o.close()


@pytest.fixture
def token(doorctl) -> str:
    """The kiosk's login token, as `doorctl kiosk install` leaves it in doorctl's data
    directory (core/system/kiosk_token.py)."""
    from doorctl.core.system import kiosk_token

    return kiosk_token.issue(doorctl.store.path.parent)
