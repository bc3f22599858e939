"""What the OpenAPI document says of each /api/v1 operation beyond its rule and role.

Resources (resource.py) describe themselves. A settings section's body is its
WTForms form, found by name in the appliance's settings. The other routes name here
their query parameters, their body and answer (built from the core's own constants)
and the errors a caller can meet besides the usual ones.
"""

from __future__ import annotations

from doorctl.blueprints.access_control.peripherals import RECORD as READER
from doorctl.blueprints.api_schemas import (
    ALARMS,
    AUDIT_LOG,
    BOARD,
    CAPTURE,
    COUNT,
    CREDENTIAL,
    CREDENTIAL_RECORD,
    CSV_EXAMPLE,
    DEVICE,
    DOOR,
    EVENTS,
    FILE,
    FLAG,
    ID,
    LANGUAGE,
    LIST,
    LOG_QUERY,
    MQTT_STATUS,
    NUMBER,
    PAGING,
    PORT,
    PORT_STATE,
    SYSTEM_LOG,
    TEXT,
    TOPIC,
    UPGRADE,
    USER,
    query,
    record,
)
from doorctl.blueprints.common import appliance
from doorctl.blueprints.form_schema import form_schema
from doorctl.blueprints.logs.audit_log import MAX_USER
from doorctl.blueprints.logs.network_trace import API_ROUTES as NETWORK_TRACE_ROUTES
from doorctl.blueprints.logs.reports import API_ROUTES as REPORT_ROUTES
from doorctl.blueprints.logs.system_log import MAX_SEARCH
from doorctl.blueprints.maintenance.backup import API_ROUTES as BACKUP_ROUTES
from doorctl.blueprints.maintenance.maintenance import RESTARTING_SCHEMA, STATUS_SCHEMA
from doorctl.blueprints.system.certificates import (
    SIGNING_REQUEST,
    SIGNING_REQUEST_ANSWER,
)
from doorctl.blueprints.system.certificates import UPDATE as CERTIFICATE_UPDATE
from doorctl.core.access_control import access, alarms, door_settings
from doorctl.core.access_control.cardholder_import import ENCODINGS
from doorctl.core.access_control.credentials import FORMATS
from doorctl.core.access_control.door import ACTIONS
from doorctl.core.accessories import io_ports
from doorctl.core.accessories.io_ports import CIRCUITS, INPUT, OUTPUT
from doorctl.core.eventlog import SECTION as EVENT_LOG
from doorctl.core.logs.kinds import KINDS
from doorctl.core.logs.system_log import LEVELS
from doorctl.core.maintenance.firmware import PHASES
from doorctl.core.system.date_time.settings import NTP_PORT
from doorctl.core.system.date_time.settings import SECTION as DATE_TIME
from doorctl.core.system.discovery.settings import SECTION as DISCOVERY
from doorctl.core.system.kiosk import SECTION as KIOSK
from doorctl.core.system.mqtt.forms import SubscriptionForm
from doorctl.core.system.mqtt.service import CLIENT, PUBLICATION, SUBSCRIPTIONS
from doorctl.core.system.network.http_https import SECTION as HTTPS
from doorctl.core.system.network.http_https import HttpHttpsSettings
from doorctl.core.system.network.ip_form import SECTION as IP_SETTINGS
from doorctl.core.system.network.ip_form import IpSettings
from doorctl.core.system.proxy import SECTION as PROXY
from doorctl.core.system.security import SECTION as SECURITY
from doorctl.core.system.security.dot1x_form import SECTION as IEEE_8021X
from doorctl.core.system.snmp.settings import SECTION as SNMP
from doorctl.core.system.users import ROLES
from doorctl.core.system.users import SECTION as SESSIONS

INTRODUCTION = (
    "Every page of doorctl has a JSON counterpart under /api/v1/. Authenticate with "
    "HTTP Basic (or a logged-in session). Writes take Content-Type: application/json; "
    "with the session they also send its CSRF token as X-CSRFToken, and a browser's "
    "write from a page of another site is refused. "
    'Errors are {"error": "what went wrong", "fields": {"field": "what is wrong with it"}}.'
)
NTP_SERVER = record(
    {"address": {**TEXT, "description": "A host name or an IP address."}},
    {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": NTP_PORT},
        "nts": {**FLAG, "default": False, "description": "Authenticate the server with NTS."},
    },
)
PROTOCOL = {"enum": ["bonjour", "upnp", "ws_discovery"]}
DISCOVERY_STATUS = record(
    {
        "running": {"type": "array", "items": PROTOCOL},
        "names": {"type": "object", "additionalProperties": TEXT},
        "problems": {"type": "object", "additionalProperties": TEXT},
        "addresses": {"type": "array", "items": TEXT},
    }
)
SNMP_STATUS = record(
    {
        "state": {"enum": ["off", "starting", "running", "failed"]},
        "running": FLAG,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "engine_id": {**TEXT, "description": "The unit's SNMP engine ID (hex), for v3 traps."},
        "problem": {**TEXT, "description": "Why snmpd does not run, in its own words."},
    }
)
TIME_SYNC = record(
    {
        "synchronization": {"enum": ["dhcp", "ntp", "manual"]},
        "time_zone": TEXT,
        "time": {**NUMBER, "description": "The device's time (epoch seconds)."},
        "reachable": {**FLAG, "description": "Whether chronyd answers."},
        "synchronized": FLAG,
        "server": {"type": ["string", "null"]},
        "offset": {"type": ["number", "null"], "description": "Seconds from NTP time."},
        "stratum": {"type": ["integer", "null"]},
        "next_sync": {"type": ["number", "null"], "description": "Seconds to the next sync."},
        "reason": {"type": ["string", "null"], "description": "Why not in sync."},
        "problem": {"type": ["string", "null"], "description": "Why a change was not applied."},
        "sources": {"type": "array", "items": {"type": "object"}},
    }
)
IEEE_8021X_STATUS = record(
    {
        "state": {"enum": ["off", "authorized", "in_progress", "unauthorized", "unknown"]},
        "detail": {**TEXT, "description": "NetworkManager's device state, or why unknown."},
    }
)
# path -> (settings section, whether GET and the change answer the stored record,
#          the schema of each element of its list fields)
SETTINGS = {
    "/api/v1/doors/{door_id}/settings": (door_settings.SECTION, True, {}),
    "/api/v1/alarms": (alarms.SECTION, False, {}),
    "/api/v1/access-settings": (access.SECTION, True, {}),
    "/api/v1/io/settings": (io_ports.SECTION, True, {}),
    "/api/v1/session-settings": (SESSIONS, True, {}),
    "/api/v1/mqtt/client": (CLIENT, True, {}),
    "/api/v1/security": (SECURITY, True, {"addresses": TEXT}),
    "/api/v1/ieee8021x": (IEEE_8021X, True, {}),
    "/api/v1/network/http-https": (HTTPS, True, {}),
    "/api/v1/network": (IP_SETTINGS, True, {"search_domains": TEXT, "dns_servers": TEXT}),
    "/api/v1/mqtt/publication": (PUBLICATION, True, {"conditions": TOPIC}),
    "/api/v1/event-log/settings": (EVENT_LOG, True, {}),
    "/api/v1/date-time": (DATE_TIME, True, {"ntp_servers": NTP_SERVER}),
    "/api/v1/proxy": (PROXY, True, {"no_proxy": TEXT}),
    "/api/v1/snmp": (SNMP, True, {"trap_receivers": TEXT}),
    "/api/v1/kiosk": (KIOSK, True, {}),
    "/api/v1/network-discovery": (DISCOVERY, True, {}),
    "/api/v1/mqtt/subscriptions": (
        SUBSCRIPTIONS,
        True,
        {"subscriptions": form_schema(SubscriptionForm)},
    ),
}
CONNECTED_CLIENT = record(
    {
        "address": TEXT,
        "user": {"type": ["string", "null"]},
        "protocol": {"enum": ["http", "https"]},
        "since": NUMBER,
        "last_request": {"type": ["number", "null"]},
        "event_streams": COUNT,
        "connections": COUNT,
        "session": {
            "type": ["string", "null"],
            "description": "Ends with DELETE .../sessions/{id}.",
        },
    }
)
HTTP_HTTPS = form_schema(HttpHttpsSettings, partial=True)
HTTP_HTTPS_CHANGE = {
    **HTTP_HTTPS,
    "properties": {
        **HTTP_HTTPS["properties"],
        "privileged_ports": {
            **FLAG,
            "description": "Allow a port in 1-1023 (other than 80 and 443), after the warning.",
        },
    },
}
PENDING_CHANGE = record(
    {
        "settings": form_schema(HttpHttpsSettings),
        "address": {**TEXT, "description": "Where the pages are under the new settings."},
        "deadline": {**NUMBER, "description": "Confirm before this time (epoch seconds)."},
        "seconds": {**COUNT, "description": "Seconds left to confirm."},
        "confirm": {**TEXT, "description": "POST here, through the new address, to keep it."},
    }
)
IP_LISTS = {"search_domains": TEXT, "dns_servers": TEXT}
IP_PENDING = record(
    {
        "settings": form_schema(IpSettings, items=IP_LISTS),
        "address": {**TEXT, "description": "Where the pages are under the new settings."},
        "deadline": {**NUMBER, "description": "Confirm before this time (epoch seconds)."},
        "seconds": {**COUNT, "description": "Seconds left to confirm."},
        "confirm": {**TEXT, "description": "POST here, through the new address, to keep it."},
    }
)
STRINGS = {"type": "array", "items": TEXT}
IP_STATE = record(
    {
        "settings": form_schema(IpSettings, items=IP_LISTS),
        "pending": {"type": ["object", "null"], "description": "The change waiting, if any."},
        "read_only": {
            "type": ["string", "null"],
            "description": "Why the settings can't be changed here (NetworkManager does "
            "not run), or null.",
        },
        "current": record(
            {
                "interfaces": {
                    "type": "array",
                    "items": record({"name": TEXT, "addresses": STRINGS}),
                },
                "routers": STRINGS,
                "dns_servers": STRINGS,
                "search_domains": STRINGS,
            }
        ),
    }
)
FIRMWARE_KEY = record(
    {
        "installed": FLAG,
        "fingerprint": {
            "type": ["string", "null"],
            "description": "SHA-256 of the raw Ed25519 public key, in groups of four hex digits.",
        },
        "key": {"type": ["string", "null"], "description": "The public key in PEM."},
    }
)
VERSION_OR_NONE = {"type": ["string", "null"]}
FIRMWARE_OUTCOME = record(
    {
        "phase": {"enum": ["healthy", "failed", "rolled_back"]},
        "version": TEXT,
        "from_version": TEXT,
        "time": NUMBER,
    },
    {
        "reason": {"enum": ["exited", "not_healthy"]},
        "exit_code": {"type": "integer"},
        "seconds": NUMBER,
    },
)
FIRMWARE = record(
    {
        "version": {**TEXT, "description": "The running version."},
        "previous_version": {
            **VERSION_OR_NONE,
            "description": "The version a rollback returns to, with its database copy.",
        },
        "last": {
            "oneOf": [{"type": "null"}, FIRMWARE_OUTCOME],
            "description": "The last upgrade's or rollback's outcome, and why one failed.",
        },
        "phase": {
            "enum": [None, *PHASES],
            "description": "The phase of an upgrade under way on this unit.",
        },
        "supervised": {
            **FLAG,
            "description": "Whether doorctl supervise runs this unit (needed to switch).",
        },
        "health_seconds": NUMBER,
    }
)
FIRMWARE_SWITCH = record({"version": TEXT, "from_version": TEXT, "phase": {"enum": ["switching"]}})
# (endpoint, method) -> what the document says besides the rule and the role
ROUTES: dict[tuple[str, str], dict] = {
    ("firmware.api_status", "GET"): {"answer": FIRMWARE},
    ("firmware.api_upgrade", "POST"): {
        "query": [
            query(
                "allow_older",
                {"enum": ["1", "true"]},
                "Install a version older than the running one (a rollback by upload).",
            )
        ],
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "status": "202",
        "answer": FIRMWARE_SWITCH,
        "answer_text": "Verified, installed next to the running version and switched to: "
        "doorctl restarts into it, and comes back to the running one if it does not "
        "report healthy in time. A refused bundle (422) changes nothing.",
        "errors": ("409", "413", "422"),
    },
    ("firmware.api_rollback", "POST"): {
        "body": False,
        "status": "202",
        "answer": FIRMWARE_SWITCH,
        "answer_text": "doorctl restarts into the previous version and the database as it was "
        "before the upgrade: changes since then are lost.",
        "errors": ("409",),
    },
    ("security.api_firmware_key", "GET"): {"answer": FIRMWARE_KEY},
    ("security.api_firmware_key_install", "PUT"): {
        "body": {
            "type": "object",
            "required": ["key"],
            "properties": {
                "key": {
                    **TEXT,
                    "description": "An Ed25519 public key in PEM (never a private key).",
                }
            },
            "additionalProperties": False,
        },
        "answer": FIRMWARE_KEY,
        "example": {
            "key": "-----BEGIN PUBLIC KEY-----\n"
            "MCowBQYDK2VwAyEA3yrElW/wv+hz3DLhOx/L1aP9VFIWcvcSy9SsfniOYcM=\n"
            "-----END PUBLIC KEY-----\n"
        },
    },
    ("security.api_firmware_key_remove", "DELETE"): {"errors": ("404",)},
    ("ieee8021x.api_status", "GET"): {"answer": IEEE_8021X_STATUS},
    # 409 while an IP change waits for its confirmation; 502 when NetworkManager refuses
    ("ieee8021x.api_update", "PUT"): {"errors": ("409", "502")},
    ("status.api_device", "GET"): {"answer": DEVICE},
    ("doors.api_list", "GET"): {"answer": {"type": "array", "items": DOOR}},
    ("doors.api_get", "GET"): {"answer": DOOR},
    ("io_ports.api_list", "GET"): {"answer": {"type": "array", "items": PORT_STATE}},
    ("alarms.api_get", "GET"): {"answer": ALARMS},
    ("network.api_clients", "GET"): {"answer": {"type": "array", "items": CONNECTED_CLIENT}},
    ("network.api_update", "PUT"): {
        "status": "202",
        "body": HTTP_HTTPS_CHANGE,
        "answer": PENDING_CHANGE,
        "answer_text": "Served now; kept only when confirmed in time.",
        "also": {
            "200": ("Nothing changed: the settings in force.", form_schema(HttpHttpsSettings))
        },
        "example": {"protocols": "https"},
    },
    ("network.api_confirm", "POST"): {
        "body": False,
        "answer": form_schema(HttpHttpsSettings),
        "errors": ("409",),
    },
    ("alarms.api_update", "PUT"): {"answer": ALARMS},
    ("network_ip.api_state", "GET"): {"answer": IP_STATE},
    ("network_ip.api_update", "PUT"): {
        "status": "202",
        "answer": IP_PENDING,
        "answer_text": "In force now under a NetworkManager checkpoint; kept only when "
        "confirmed in time.",
        "also": {
            "200": (
                "Nothing changed: the settings in force.",
                form_schema(IpSettings, items=IP_LISTS),
            )
        },
        "errors": ("409", "502"),
        "example": {
            "ipv4_automatic": False,
            "ip_address": "192.168.1.90",
            "subnet_mask": "255.255.255.0",
            "router": "192.168.1.1",
        },
    },
    ("network_ip.api_confirm", "POST"): {
        "body": False,
        "answer": form_schema(IpSettings, items=IP_LISTS),
        "errors": ("409",),
    },
    ("mqtt.api_status", "GET"): {"answer": MQTT_STATUS},
    ("date_time.api_status", "GET"): {"answer": TIME_SYNC},
    ("discovery.api_status", "GET"): {"answer": DISCOVERY_STATUS},
    ("snmp.api_status", "GET"): {"answer": SNMP_STATUS},
    ("simulator.api_board", "GET"): {"answer": BOARD},
    ("simulator.api_door", "POST"): {
        "answer": BOARD,
        "body": record({"position": {"enum": ["open", "closed"]}}),
        "example": {"position": "open"},
    },
    ("simulator.api_rex", "POST"): {"answer": BOARD, "body": False},
    ("simulator.api_button", "POST"): {
        "body": {"type": "object", "properties": {"seconds": NUMBER}},
        "example": {"seconds": 0.5},
    },
    ("simulator.api_motion", "POST"): {
        "answer": record({"shaken": NUMBER}),
        "body": {"type": "object", "properties": {"g": NUMBER}},
        "example": {"g": 1.0},
    },
    ("credentials.api_get_credential", "GET"): {"answer": CREDENTIAL_RECORD},
    ("peripherals.api_upgrade_status", "GET"): {"answer": UPGRADE},
    ("peripherals.api_rotate_key", "POST"): {
        "answer": READER,
        "body": False,
        "errors": ("409", "504"),
        "answer_text": "The reader holds its new key; the answer shows when it was set.",
    },
    ("peripherals.api_clear_key", "DELETE"): {"errors": ("409",)},
    ("peripherals.api_capture", "POST"): {
        "status": "202",
        "body": {
            "type": "object",
            "required": ["duration"],
            "properties": {"duration": CAPTURE["properties"]["duration"]},
        },
        "example": {"duration": 60},
        "answer": CAPTURE,
        "errors": ("409",),
    },
    ("peripherals.api_capture_status", "GET"): {"answer": CAPTURE, "errors": ("409",)},
    ("peripherals.api_capture_stop", "DELETE"): {"errors": ("409",)},
    ("peripherals.api_capture_file", "GET"): {
        "answer_type": "application/vnd.tcpdump.pcap",
        "answer": {"type": "string", "format": "binary"},
        "answer_text": "A pcap file, link type 162 (LINKTYPE_USER15) as libosdp's traces.",
        "errors": ("409",),
    },
    ("maintenance.api_status", "GET"): {"answer": STATUS_SCHEMA},
    ("maintenance.api_restart", "POST"): {
        "status": "202",
        "body": {"type": "object", "properties": {"device": FLAG}},
        "example": {"device": False},
        "answer": RESTARTING_SCHEMA,
        "answer_text": "doorctl stops, the outputs go to their normal state, and it starts "
        "again on the same ports.",
        "errors": ("409",),
    },
    ("maintenance.api_restore", "POST"): {
        "status": "202",
        "body": False,
        "answer": RESTARTING_SCHEMA,
        "answer_text": "Every setting except the network's goes back to its factory value; "
        "users, access data, readers, certificates and logs stay. doorctl restarts.",
        "errors": ("409",),
    },
    ("maintenance.api_factory_default", "POST"): {
        "status": "202",
        "body": {
            "type": "object",
            "required": ["confirmation"],
            "properties": {"confirmation": {"const": "default"}},
        },
        "example": {"confirmation": "default"},
        "answer": RESTARTING_SCHEMA,
        "answer_text": "Everything but the installed software and the hardware profile is "
        "deleted; doorctl restarts as new and asks for root's password.",
        "errors": ("409",),
    },
    ("setup.api", "POST"): {
        "status": "201",
        "body": {
            "type": "object",
            "required": ["password", "password_repeat"],
            "properties": {"password": TEXT, "password_repeat": TEXT},
        },
        "answer": USER,
        "errors": ("409",),
        "example": {"password": "s3cret pass", "password_repeat": "s3cret pass"},
    },
    ("users.api_list", "GET"): {"answer": {"type": "array", "items": USER}},
    ("users.api_get", "GET"): {"answer": USER},
    ("users.api_create", "POST"): {
        "status": "201",
        "body": {
            "type": "object",
            "required": ["username", "password", "role"],
            "properties": {
                "username": TEXT,
                "password": TEXT,
                "role": {"enum": list(ROLES)},
                "language": LANGUAGE,
            },
        },
        "answer": USER,
        "errors": ("409",),
        "example": {"username": "guard", "password": "s3cret pass", "role": "operator"},
    },
    ("users.api_update", "PUT"): {
        "body": {
            "type": "object",
            "properties": {"password": TEXT, "role": {"enum": list(ROLES)}, "language": LANGUAGE},
        },
        "answer": USER,
        "example": {"role": "viewer"},
    },
    ("users.api_delete", "DELETE"): {"errors": ("403",)},
    ("users.api_password_change", "PUT"): {
        "body": {
            "type": "object",
            "required": ["old_password", "password"],
            "properties": {"old_password": TEXT, "password": TEXT},
        },
        "answer": USER,
        "example": {"old_password": "s3cret pass", "password": "n3w s3cret pass"},
    },
    ("doors.api_act", "POST"): {
        "body": False,
        "answer": DOOR,
        "errors": ("409", "503"),
        "params": {"action": {"enum": list(ACTIONS)}},
    },
    ("io_ports.api_get", "GET"): {"params": {"port": PORT}, "answer": PORT_STATE},
    ("io_ports.api_update", "PUT"): {
        "params": {"port": PORT},
        "example": {"name": "Gate contact", "supervised": False},
        "answer": PORT_STATE,
        "body": {
            "type": "object",
            "properties": {
                "name": TEXT,
                "direction": {"enum": [INPUT, OUTPUT]},
                "normal_state": {"enum": [value for value, _ in CIRCUITS]},
                "supervised": FLAG,
            },
        },
    },
    ("events.api_list", "GET"): {
        "query": [
            query("kind", {"enum": list(KINDS)}, "A kind of event (the Event log's Kind filter)."),
            query("topic", TEXT, "Topic prefix; repeatable."),
            *LOG_QUERY,
        ],
        "answer": EVENTS,
    },
    ("events.api_stream", "GET"): {
        "query": [query("topic", TEXT, "Topic prefix; repeatable.")],
        "answer_type": "text/event-stream",
        "answer": TEXT,
        "answer_text": "Server-Sent Events: `id`, `event: <topic>`, `data: <event JSON>`.",
    },
    ("access_log.api_list", "GET"): {
        "query": [
            query("cardholder", TEXT, "A cardholder's name (any case); 400 when nobody has it."),
            query("cardholder_id", ID),
            query("door_id", ID),
            query("result", {"enum": ["granted", "denied"]}),
            *LOG_QUERY,
        ],
        "answer": EVENTS,
    },
    ("system_log.api_list", "GET"): {
        "query": [
            query("level", {"enum": list(LEVELS)}, "This level and above (any case)."),
            query(
                "search",
                {"type": "string", "maxLength": MAX_SEARCH},
                "Text in the message or the logger's name (any case).",
            ),
            *LOG_QUERY,
        ],
        "answer": SYSTEM_LOG,
    },
    ("audit_log.api_list", "GET"): {
        "query": [
            query(
                "user",
                {"type": "string", "maxLength": MAX_USER},
                "Changes by this user, and logins as them.",
            ),
            *LOG_QUERY,
        ],
        "answer": AUDIT_LOG,
    },
    ("cardholders.api_import", "POST"): {
        "query": [
            query(
                "encoding",
                {"enum": list(ENCODINGS)},
                "The file's encoding when it has no byte order mark (default utf-8).",
            )
        ],
        "content": {
            "text/csv": {"schema": TEXT, "example": CSV_EXAMPLE},
            "multipart/form-data": {"schema": FILE},
        },
        "answer": record(
            {"cardholders": COUNT, "credentials": COUNT, "errors": LIST, "error_count": COUNT}
        ),
    },
    ("simulator.api_wiegand", "POST"): {
        "body": {
            "type": "object",
            "properties": {
                "bits": {"type": "string", "pattern": "^[01]*$"},
                "format": {"enum": list(FORMATS)},
                "facility": {"type": "integer"},
                "card": {"type": "integer"},
                "keys": TEXT,
            },
        },
        "example": {"format": "H10301", "facility": 12, "card": 3456},
    },
    ("cardholders.api_export", "GET"): {"answer_type": "text/csv", "answer": TEXT},
    ("snmp_mib.api_mib", "GET"): {"answer_type": "text/plain", "answer": TEXT},
    ("credentials.api_credentials", "GET"): {
        "query": [query("cardholder_id", ID), *PAGING],
        "answer": {"type": "array", "items": CREDENTIAL_RECORD},
    },
    ("credentials.api_create_credential", "POST"): {
        "status": "201",
        "answer": CREDENTIAL_RECORD,
        "body": CREDENTIAL,
        "errors": ("409",),
        "example": {
            "cardholder_id": 1,
            "card": {"format": "H10301", "facility": 12, "number": 3456},
        },
    },
    ("credentials.api_update_credential", "PUT"): {
        "body": CREDENTIAL,
        "example": {"enabled": False},
        "answer": CREDENTIAL_RECORD,
        "errors": ("409",),
    },
    ("peripherals.api_upgrade", "POST"): {
        "answer": UPGRADE,
        "content": {
            "application/octet-stream": {"schema": TEXT},
            "multipart/form-data": {"schema": FILE},
        },
        "status": "202",
        "errors": ("409",),
    },
    ("simulator.api_input", "POST"): {
        "params": {"name": {"examples": ["door_monitor"]}},
        "example": {"active": True},
        "answer": BOARD,
        "body": {"type": "object", "properties": {"active": FLAG, "resistance": {}}},
    },
    ("io_ports.api_activate", "POST"): {
        "params": {"port": PORT},
        "example": {"active": True},
        "answer": PORT_STATE,
        "body": {"type": "object", "required": ["active"], "properties": {"active": FLAG}},
        "status": "200",
        "errors": ("409",),
    },
    ("certificates.api_update", "PUT"): {"body": CERTIFICATE_UPDATE, "example": None},
    **BACKUP_ROUTES,
    **REPORT_ROUTES,
    **NETWORK_TRACE_ROUTES,
    ("certificates.api_signing_request", "POST"): {
        "params": {"cert_id": {"examples": ["device-https"]}},
        "body": SIGNING_REQUEST,
        "answer": SIGNING_REQUEST_ANSWER,
        "example": {"common_name": "door", "alternative_names": ["door.example.com"]},
        "status": "200",
    },
}


def describe(endpoint: str, method: str, path: str, resources: dict) -> dict:
    """What the document says of one operation besides its rule and role."""
    for resource in resources.values():
        found = resource_operation(resource, path, method)
        if found is not None:
            return found
    found = _settings_operation(path, method) if path in SETTINGS else {}
    same = "PUT" if method == "PATCH" else method
    return {**found, **(ROUTES.get((endpoint, method)) or ROUTES.get((endpoint, same)) or {})}


def resource_operation(resource, path: str, method: str) -> dict | None:
    """The resource's operation at this path and method, or None."""
    operation = {
        (resource.api, "GET"): "list",
        (resource.api, "POST"): "create",
    }.get((path, method))
    if path == f"{resource.api}/{{{resource.key}}}":
        operation = {"GET": "read", "PUT": "update", "PATCH": "update"}.get(method, "delete")
    if operation is None:
        return None
    found = {"answer": resource.answer_of(operation), "errors": _conflicts(resource, operation)}
    found["params"] = {resource.key: {"examples": [resource.key_example]}}
    if operation == "list":
        found["query"] = resource.list_query
    if operation == "create":
        found["status"] = "201"
    if operation in ("create", "update"):
        found["body"] = _partial(resource.body) if operation == "update" else resource.body
        found["example"] = resource.example
    return found


def _conflicts(resource, operation: str) -> tuple[str, ...]:
    return ("409",) if operation in resource.conflicts else ()


def _partial(schema: dict) -> dict:
    """A change names only the fields it changes."""
    return {k: v for k, v in schema.items() if k != "required"}


def _settings_operation(path: str, method: str) -> dict:
    """A settings section: the body is its form, every field optional."""
    section, answers_record, items = SETTINGS[path]
    form = form_schema(appliance().settings.sections[section], partial=True, items=items)
    record = {**form, "additionalProperties": True} if answers_record else {"type": "object"}
    if method == "GET":
        return {"answer": record}
    example = appliance().settings.defaults(section)
    return {"body": form, "answer": record, "example": example}
