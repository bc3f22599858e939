"""Maintenance > Firmware: upgrade from an uploaded bundle, and firmware rollback.

An upgrade verifies the bundle (signature, every wheel's hash, target, version),
installs it into a new virtual environment next to the running one (which is not
touched), copies the database with SQLite's backup API, switches (one atomic write of
the firmware state) and restarts. The supervisor gives the new version the health
time to report healthy, or falls back (core/maintenance/supervisor.py). Slow steps run
in a subprocess or on the hub's threadpool: the hub keeps polling readers meanwhile.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import gevent
from flask_babel import gettext as _
from packaging.requirements import Requirement

from doorctl import __version__
from doorctl.core import waiting
from doorctl.core.errors import Conflict, Invalid
from doorctl.core.events import EventBus
from doorctl.core.maintenance import firmware as fw
from doorctl.core.maintenance.bundle_format import PRODUCT, UNIT_EXTRAS, extra_requirements
from doorctl.core.maintenance.restart import SUPERVISED_ENV

log = logging.getLogger(__name__)
RESTART_DELAY = 0.5  # seconds: the answer leaves before the process exits
PIP_TIMEOUT = 600
UNDER_WAY = ("receiving", "verifying", "installing", "switching")  # the page shows these


class Refused(Invalid):
    """The bundle can't be installed (signature, wheels, target, version): nothing changed."""

    status = 422


class Firmware:
    """The running version, the previous one, the last outcome; upgrade and rollback."""

    def __init__(self, root: Path, data_dir: Path, bus: EventBus, restart: Callable[[], None]):
        self.root = Path(root)
        self.data_dir = Path(data_dir)
        self.bus = bus
        self.restart = restart
        self.phase: str | None = None
        self.base_python = os.environ.get(fw.BASE_PYTHON_ENV) or sys.executable

    @property
    def supervised(self) -> bool:
        """Whether `doorctl supervise` runs this process (it alone can switch versions)."""
        return os.environ.get(SUPERVISED_ENV) == "1"

    def status(self) -> dict:
        """What the Firmware page and GET /api/v1/firmware show."""
        state = fw.state_of(self.root)
        previous = state["previous"] if state["previous"] and state["previous"].get("db") else None
        return {
            "version": __version__,
            "previous_version": previous["version"] if previous else None,
            "last": _public(state["last"]),
            "phase": self.phase,
            "supervised": self.supervised,
            "health_seconds": float(os.environ.get(fw.HEALTH_SECONDS_ENV, fw.HEALTH_SECONDS)),
        }

    def announce(self) -> None:
        """At start: say what became of the last upgrade or rollback, once."""
        state = fw.state_of(self.root)
        last = state["last"]
        if not last or last.get("announced"):
            return
        last["announced"] = True
        fw.write_state(self.root, state)
        said = {k: v for k, v in _public(last).items() if k != "time"}
        self.bus.publish(fw.TOPIC, {}, said, {}, False)

    def healthy(self) -> None:
        """This version serves: tell the supervisor, and say so if it is on trial."""
        trial = fw.state_of(self.root)["trial"]
        fw.report_healthy(self.root, __version__)
        if trial and trial["version"] == __version__:
            self._event("healthy", version=__version__, from_version=trial["from_version"])

    def upgrade(self, upload: Path, allow_older: bool = False) -> dict:
        """Verify, install side by side, copy the database, switch; then restart."""
        self._begin("receiving")
        try:
            bundle = self._verify(upload, allow_older)
            self._event("installing", version=bundle.version)
            env = self._install(bundle)
            self._switch(bundle.version, env)
        except BaseException:
            self.phase = None
            raise
        finally:
            _remove(fw.incoming(self.root) / "unpacked")
            upload.unlink(missing_ok=True)
        gevent.spawn_later(RESTART_DELAY, self.restart)
        return {"version": bundle.version, "from_version": __version__, "phase": "switching"}

    def rollback(self) -> dict:
        """Back to the previous version and its database copy (changes since are lost)."""
        state = fw.state_of(self.root)
        previous = state["previous"]
        if not previous:
            raise Conflict(
                _("There is no previous version to roll back to: no upgrade was kept on this unit.")
            )
        self._can_roll_back(previous)
        self._begin("switching")
        state["active"] = {"version": previous["version"], "env": previous["env"]}
        state["previous"] = None
        state["restore"] = previous["db"]
        state["trial"] = None
        state["last"] = _outcome("rolled_back", previous["version"], __version__)
        fw.write_state(self.root, state)
        gevent.spawn_later(RESTART_DELAY, self.restart)
        return {"version": previous["version"], "from_version": __version__, "phase": "switching"}

    def _can_roll_back(self, previous: dict) -> None:
        """Refuse a rollback that has no database copy or no software to go back to."""
        if not previous.get("db"):
            raise Conflict(
                _(
                    "There is no rollback: the factory default deleted the database copy "
                    "taken before the last upgrade."
                )
            )
        if not fw.runnable(self.root, previous):
            raise Conflict(
                _(
                    "doorctl %(version)s can't be rolled back to: its installation is missing.",
                    version=previous["version"],
                )
            )

    def _begin(self, phase: str) -> None:
        if not self.supervised:
            raise Conflict(
                _(
                    "This doorctl runs without its supervisor, which alone can switch "
                    "versions: start it with scripts/run or the systemd unit."
                )
            )
        if self.phase is not None:
            raise Conflict(_("An upgrade is under way; wait for the restart."))
        if fw.state_of(self.root)["trial"]:
            raise Conflict(on_trial_message())
        self.phase = phase
        self._event(phase)

    def _verify(self, upload: Path, allow_older: bool):
        """The bundle's version and wheels, or a refusal that changed nothing."""
        from doorctl.core.maintenance import bundle as bundles

        self._event("verifying")
        into = fw.incoming(self.root) / "unpacked"
        _remove(into)
        try:
            bundle = waiting.computed(
                lambda: bundles.read_bundle(
                    upload,
                    into,
                    trusted=bundles.trusted_keys(self.data_dir),
                    running_version=__version__,
                    allow_older=allow_older,
                    halfway=lambda: fw.hold(self.root, "verify"),
                )
            )
        except bundles.BundleRefused as refused:
            self._event("failed", reason="refused", detail=refused.message)
            raise Refused({"bundle": refused.message}, refused.message) from None
        return bundle

    def _install(self, bundle) -> str:
        """A new virtual environment with the bundle's doorctl and the extras the running
        one has (kept_extras), from its wheels only."""
        env = fw.new_env_dir(self.root, bundle.version)
        env.parent.mkdir(parents=True, exist_ok=True)
        wheels = {str(Path(w).parent) for w in bundle.wheels}
        try:
            system_site = system_site_packages(self.base_python)
            self._run([self.base_python, "-m", "venv", "--without-pip", *system_site, str(env)])
            fw.hold(self.root, "install")
            links = [arg for folder in sorted(wheels) for arg in ("--find-links", folder)]
            self._run(
                [self.base_python, "-m", "pip", "--python", str(env / "bin" / "python")]
                + ["install", "--no-index", "--only-binary", ":all:", "--no-input"]
                + ["--disable-pip-version-check", *links, requirement(bundle.version)]
            )
        except subprocess.CalledProcessError as error:
            _remove(env)
            log.error("installing doorctl %s failed:\n%s", bundle.version, error.stdout)
            self._event("failed", version=bundle.version, reason="install_failed")
            message = _(
                "doorctl %(version)s could not be installed; the system log has the report.",
                version=bundle.version,
            )
            raise Refused({"bundle": message}, message) from None
        return str(env.relative_to(self.root))

    def _run(self, command: list[str]) -> None:
        """A command in a subprocess (gevent's: the hub goes on meanwhile)."""
        with waiting.off_hub():
            subprocess.run(
                command,
                check=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=PIP_TIMEOUT,
                env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
            )

    def _switch(self, version: str, env: str) -> None:
        """Copy the database, then make the new version active in one write."""
        copy = fw.db_copy(self.root, __version__)
        waiting.computed(fw.copy_database, self.data_dir, copy)
        self.phase = "switching"
        self._event("switching", version=version)
        state = fw.state_of(self.root)
        running = state["active"] or {"version": __version__, "env": fw.BASE}
        state["previous"] = {**running, "db": str(copy.relative_to(self.root))}
        state["active"] = {"version": version, "env": env}
        state["trial"] = {"version": version, "env": env, "from_version": __version__}
        state["restore"] = None
        fw.write_state(self.root, state)
        fw.hold(self.root, "switch")

    def _event(self, phase: str, **data) -> None:
        if phase in UNDER_WAY:
            self.phase = phase
        self.bus.publish(
            fw.TOPIC, {}, {"phase": phase, "from_version": __version__} | data, {}, False
        )


def on_trial_message() -> str:
    """Why nothing that restarts doorctl is done while a new version is on trial (a
    restart before it reports healthy would count as its failure)."""
    return _(
        "The new firmware version is on trial until it reports healthy, at most a "
        "minute after its start: try again then."
    )


def _remove(folder: Path) -> None:
    """Delete a folder tree on the hub's threadpool (an environment is thousands of files)."""
    waiting.computed(lambda: shutil.rmtree(folder, ignore_errors=True))


def _outcome(phase: str, version: str, from_version: str) -> dict:
    return {"phase": phase, "version": version, "from_version": from_version, "time": time.time()}


def _public(last: dict | None) -> dict | None:
    """The last outcome as the page and the API show it."""
    if not last:
        return None
    keys = ("phase", "version", "from_version", "time", "reason", "exit_code", "seconds", "detail")
    return {k: last[k] for k in keys if k in last}


def system_site_packages(base_python: str) -> list[str]:
    """venv's option that lets a new version see the OS's packages where the base
    install does (a Pi's spidev comes from Raspberry Pi OS, not the bundle: FROM_THE_OS)."""
    config = Path(base_python).parent.parent / "pyvenv.cfg"
    try:
        lines = config.read_text().splitlines()
    except OSError:
        return []
    pairs = (line.split("=", 1) for line in lines if "=" in line)
    settings = {key.strip(): value.strip() for key, value in pairs}
    return (
        ["--system-site-packages"] if settings.get("include-system-site-packages") == "true" else []
    )


def requirement(version: str) -> str:
    """What an upgrade installs: doorctl at `version`, with the extras kept."""
    extras = kept_extras()
    return f"{PRODUCT}[{','.join(extras)}]=={version}" if extras else f"{PRODUCT}=={version}"


def kept_extras() -> list[str]:
    """The UNIT_EXTRAS whose every requirement the running doorctl has installed (in
    its environment or the system's): an upgraded Pi keeps its GPIO backend."""
    own = next(iter(metadata.distributions(name=PRODUCT)), None)
    requires = (own.requires or []) if own else []
    kept = []
    for extra in UNIT_EXTRAS:
        wanted = extra_requirements(requires, extra)
        if wanted and all(_installed(needed) for needed in wanted):
            kept.append(extra)
    return kept


def _installed(needed: Requirement) -> bool:
    """Whether a distribution of `needed`'s name, at a version it accepts, is installed."""
    found = next(iter(metadata.distributions(name=needed.name)), None)
    return found is not None and needed.specifier.contains(found.version, prereleases=True)
