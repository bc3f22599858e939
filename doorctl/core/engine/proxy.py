"""Stand-ins in the web process for the services that run in the engine process.

A stand-in has the service's interface: calling a method runs it in the engine and
returns its result or raises its error, so blueprints and MQTT call it unchanged.
The few plain attributes pages read (a door's id and settings, the I/O settings)
come from the web process's own copy of the settings, which is the same record.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial


class Remote:
    """A service of the engine process, reached by name: remote.method(*args)."""

    def __init__(self, call: Callable, target: str):
        self._call = call
        self._target = target

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return partial(self._call, self._target, name)

    def __repr__(self) -> str:
        return f"<engine {self._target}>"


class RemoteWithSettings(Remote):
    """A remote service whose `settings` attribute pages read (a door, the I/O ports)."""

    def __init__(self, call: Callable, target: str, settings: Callable[[], dict], **attrs):
        super().__init__(call, target)
        self._settings = settings
        self.__dict__.update(attrs)

    @property
    def settings(self) -> dict:
        """The section's record, as the engine's service holds it after apply()."""
        return self._settings()


class RemoteSimulator(Remote):
    """The simulator panel's controls; its last reads and presses as attributes."""

    def __init__(self, call: Callable, target: str, hardware: str):
        super().__init__(call, target)
        self._hardware = hardware

    def available(self) -> bool:
        """Known here, not asked: every page's menu asks, also while the engine restarts."""
        return self._hardware == "sim"

    @property
    def reads(self) -> list:
        return self._call(self._target, "recent")["reads"]

    @property
    def presses(self) -> list:
        return self._call(self._target, "recent")["presses"]
