"""net-snmp's snmpd as doorctl's SNMP engine: its configuration, made from the settings.

Pure functions (no process here, see service.py): the main configuration
(`snmpd_conf`), the v3 user lines for the persistent file (`persistent_file`), the
engine ID, and the notification targets as plain data (`notification_targets`). A
record is the SNMP settings with `users`: the v3 users (users.py) with their keys.

Two hooks for the parts that serve doorctl's own objects and send its traps:

- `Snmp.extra_config` (service.py) is a list of callables `(record) -> list[str]`;
  each line they return goes into the generated snmpd.conf, after doorctl's own. Use
  it for a `pass_persist <subtree> <command>` or `master agentx` line, and add a
  `view doorctl included <subtree>` line for the subtree: managers see only the
  `doorctl` view (the system group, plus what the hooks add).
- `notification_targets(record, engine_id)` (or `Snmp.targets()`) gives each trap
  receiver with the version, credentials and engine ID to send with, as a dict; the
  arguments for net-snmp's own `snmptrap`/`snmpinform` are `snmptrap_arguments(target)`.
- sysObjectID is DOORCTL-MIB's doorctlController (mib.py's PRODUCT_OID).
"""

from __future__ import annotations

from doorctl import PRODUCT_NAME, __version__
from doorctl.core.system.snmp.mib import PRODUCT_OID
from doorctl.core.system.snmp.settings import INFORM, V1_V2C, V3, receiver_address

VIEW = "doorctl"
SYSTEM_GROUP = ".1.3.6.1.2.1.1"
# sysObjectID: what the unit is, DOORCTL-MIB's doorctlController
SYS_OBJECT_ID = f".{PRODUCT_OID}"
# RFC 3411 SnmpEngineID: enterprise 8072 with the high bit set, format 4 (text)
ENGINE_ID_PREFIX = "80001f8804"
MAX_ENGINE_TEXT = 27


def engine_id(serial: str) -> str:
    """The unit's SNMP engine ID, fixed by its serial number, as hex ("0x8000...").

    A receiver of v3 traps has to know it (snmptrapd's `createUser -e`): it is shown
    on the page, and stays the same across restarts and changes of the settings.
    """
    text = f"{PRODUCT_NAME}-{serial}".encode()[:MAX_ENGINE_TEXT]
    return "0x" + ENGINE_ID_PREFIX + text.hex()


def sys_descr() -> str:
    """sysDescr: the product and its version."""
    return f"{PRODUCT_NAME} {__version__} network door controller"


def snmpd_conf(record: dict, serial: str, extra: list[str] = ()) -> str:
    """The whole snmpd.conf for a record that is on: system group, access, traps."""
    lines = [
        "# Written by doorctl from its SNMP settings; changes here are overwritten.",
        "dontLogTCPWrappersConnects yes",
        f"exactEngineID {engine_id(serial)}",
        f"sysDescr {sys_descr()}",
        f"sysObjectID {SYS_OBJECT_ID}",
        *_system_lines(record),
        f"view {VIEW} included {SYSTEM_GROUP}",
        *_access_lines(record),
        *_trap_lines(record),
        *extra,
    ]
    return "\n".join(lines) + "\n"


def _system_lines(record: dict) -> list[str]:
    """sysContact, sysName and sysLocation as set (read-only to managers once set)."""
    values = {
        "sysContact": record["sys_contact"],
        "sysName": record["sys_name"],
        "sysLocation": record["sys_location"],
    }
    return [f"{name} {value}" for name, value in values.items() if value]


def _access_lines(record: dict) -> list[str]:
    """Who may read: the community (v1 and v2c) or each v3 user that may, with authPriv
    only."""
    if record["version"] == V1_V2C:
        community = record["read_community"]
        return [f"rocommunity {community} default -V {VIEW}"]
    readers = [user for user in record["users"] if user["read"]]
    return [f'rouser -s usm "{user["name"]}" priv -V {VIEW}' for user in readers]


def _trap_lines(record: dict) -> list[str]:
    """The trap receivers as snmpd's trap sessions: snmpd sends coldStart to them when
    it starts, and the `trapsess` lines carry the same credentials as the targets."""
    lines = []
    for target in notification_targets(record, ""):
        arguments = " ".join(_quoted(a) for a in _session_arguments(target))
        lines.append(f"trapsess {arguments} {target['address']}")
    return lines


def _quoted(argument: str) -> str:
    return f'"{argument}"' if any(c.isspace() for c in argument) else argument


def notification_targets(record: dict, engine: str) -> list[dict]:
    """Each trap receiver with what to send it with, as plain data:

    {"host", "port", "address" ("udp:host:port"), "version" ("2c" or "3"),
     "inform" (bool), and "community" (v2c) or "user", "authentication" ("SHA" or
     "SHA-256"), "auth_key", "privacy" ("AES"), "privacy_key", "engine_id" (v3)}.

    None when SNMP is off, or v3 has no user that sends traps. The keys are the clear
    secrets: never log or show them.
    """
    if record["version"] not in (V1_V2C, V3):
        return []
    if record["version"] == V3 and _sender(record) is None:
        return []
    targets = []
    for entry in record["trap_receivers"]:
        host, port = receiver_address(entry)
        shown = f"[{host}]" if ":" in host else host
        target = {"host": host, "port": port, "address": f"udp:{shown}:{port}"}
        targets.append({**target, **_credentials(record, engine)})
    return targets


def _sender(record: dict) -> dict | None:
    """The v3 user that traps and informs are sent as, if any."""
    return next((user for user in record["users"] if user["notify"]), None)


def _credentials(record: dict, engine: str) -> dict:
    if record["version"] == V1_V2C:
        return {"version": "2c", "inform": False, "community": record["trap_community"]}
    user = _sender(record)
    return {
        "version": "3",
        "inform": record["v3_notification"] == INFORM,
        "user": user["name"],
        "authentication": user["authentication"],
        "auth_key": user["auth_key"],
        "privacy": "AES",
        "privacy_key": user["privacy_key"],
        "engine_id": engine,
    }


def _session_arguments(target: dict) -> list[str]:
    """net-snmp's session options (-v, -c or -u/-l/-a/-A/-x/-X, -Ci) for a target."""
    inform = ["-Ci"] if target["inform"] else []
    if target["version"] == "2c":
        return ["-v", "2c", *inform, "-c", target["community"]]
    return [
        "-v",
        "3",
        *inform,
        "-u",
        target["user"],
        "-l",
        "authPriv",
        "-a",
        target["authentication"],
        "-A",
        target["auth_key"],
        "-x",
        target["privacy"],
        "-X",
        target["privacy_key"],
    ]


def snmptrap_arguments(target: dict) -> list[str]:
    """The options of net-snmp's `snmptrap` for a target, before the trap's own
    arguments: `["snmptrap", *snmptrap_arguments(t), t["address"], "", oid, ...]`.
    A v3 trap is sent with the unit's engine ID (`-e`); an inform finds the receiver's."""
    arguments = _session_arguments(target)
    if target["version"] == "3" and not target["inform"] and target.get("engine_id"):
        arguments += ["-e", target["engine_id"]]
    return arguments


def persistent_file(old: str, record: dict) -> str:
    """snmpd's persistent file with each v3 user as a `createUser` line.

    Earlier users (`usmUser` lines, keys already localised) are dropped so that a
    removed or changed user goes; the engine's boot counter and the rest are kept.
    snmpd reads the `createUser` line when it starts and writes the file again at once
    with a `usmUser` line instead (the keys localised to this engine, the passwords
    gone), so the clear passwords sit on disk only until snmpd has started.
    """
    kept = [line for line in old.splitlines() if not line.startswith(("usmUser ", "createUser "))]
    for user in record["users"] if record["version"] == V3 else ():
        kept.append(
            f'createUser "{user["name"]}" {user["authentication"]} '
            f'"{user["auth_key"]}" AES "{user["privacy_key"]}"'
        )
    return "\n".join(kept) + "\n"
