"""What the OpenAPI document says of the System menu's operations (Users, Date and
time, Network, Security, IEEE 802.1x, MQTT, SNMP, Certificates) beyond rule and role."""

from __future__ import annotations

from doorctl.blueprints.api_schemas import (
    COUNT,
    FLAG,
    LANGUAGE,
    MQTT_STATUS,
    NUMBER,
    TEXT,
    TOPIC,
    USER,
    record,
)
from doorctl.blueprints.form_schema import form_schema
from doorctl.blueprints.system.certificates import (
    SIGNING_REQUEST,
    SIGNING_REQUEST_ANSWER,
)
from doorctl.blueprints.system.certificates import UPDATE as CERTIFICATE_UPDATE
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
# path -> (settings section, whether GET and the change answer the stored record,
#          the schema of each element of its list fields)
SETTINGS = {
    "/api/v1/session-settings": (SESSIONS, True, {}),
    "/api/v1/mqtt/client": (CLIENT, True, {}),
    "/api/v1/security": (SECURITY, True, {"addresses": TEXT}),
    "/api/v1/ieee8021x": (IEEE_8021X, True, {}),
    "/api/v1/network/http-https": (HTTPS, True, {}),
    "/api/v1/network": (IP_SETTINGS, True, {"search_domains": TEXT, "dns_servers": TEXT}),
    "/api/v1/mqtt/publication": (PUBLICATION, True, {"conditions": TOPIC}),
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
# (endpoint, method) -> what the document says besides the rule and the role
ROUTES: dict[tuple[str, str], dict] = {
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
    ("snmp_mib.api_mib", "GET"): {"answer_type": "text/plain", "answer": TEXT},
    ("certificates.api_update", "PUT"): {"body": CERTIFICATE_UPDATE, "example": None},
    ("certificates.api_signing_request", "POST"): {
        "params": {"cert_id": {"examples": ["device-https"]}},
        "body": SIGNING_REQUEST,
        "answer": SIGNING_REQUEST_ANSWER,
        "example": {"common_name": "door", "alternative_names": ["door.example.com"]},
        "status": "200",
    },
}
