"""What the OpenAPI document says of the Access control and Accessories menus'
operations (doors, cardholders, alarms, peripherals, I/O ports) beyond rule and role."""

from __future__ import annotations

from doorctl.blueprints.access_control.peripherals import RECORD as READER
from doorctl.blueprints.api_schemas import (
    ALARMS,
    BOARD,
    CAPTURE,
    COUNT,
    CREDENTIAL,
    CREDENTIAL_RECORD,
    CSV_EXAMPLE,
    DOOR,
    FILE,
    FLAG,
    ID,
    LIST,
    NUMBER,
    PAGING,
    PORT,
    PORT_STATE,
    TEXT,
    UPGRADE,
    query,
    record,
)
from doorctl.core.access_control import access, alarms, door_settings
from doorctl.core.access_control.cardholder_import import ENCODINGS
from doorctl.core.access_control.credentials import FORMATS
from doorctl.core.access_control.door import ACTIONS
from doorctl.core.accessories import io_ports
from doorctl.core.accessories.io_ports import CIRCUITS, INPUT, OUTPUT

# path -> (settings section, whether GET and the change answer the stored record,
#          the schema of each element of its list fields)
SETTINGS = {
    "/api/v1/doors/{door_id}/settings": (door_settings.SECTION, True, {}),
    "/api/v1/alarms": (alarms.SECTION, False, {}),
    "/api/v1/access-settings": (access.SECTION, True, {}),
    "/api/v1/io/settings": (io_ports.SECTION, True, {}),
}
# (endpoint, method) -> what the document says besides the rule and the role
ROUTES: dict[tuple[str, str], dict] = {
    ("doors.api_list", "GET"): {"answer": {"type": "array", "items": DOOR}},
    ("doors.api_get", "GET"): {"answer": DOOR},
    ("io_ports.api_list", "GET"): {"answer": {"type": "array", "items": PORT_STATE}},
    ("alarms.api_get", "GET"): {"answer": ALARMS},
    ("alarms.api_update", "PUT"): {"answer": ALARMS},
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
}
