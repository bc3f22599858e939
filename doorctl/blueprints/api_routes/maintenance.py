"""What the OpenAPI document says of the Maintenance menu's operations (Maintenance,
Backup, Firmware) beyond rule and role."""

from __future__ import annotations

from doorctl.blueprints.api_schemas import (
    FLAG,
    NUMBER,
    TEXT,
    query,
    record,
)
from doorctl.blueprints.maintenance.backup import API_ROUTES as BACKUP_ROUTES
from doorctl.blueprints.maintenance.maintenance import RESTARTING_SCHEMA, STATUS_SCHEMA
from doorctl.core.maintenance.firmware import PHASES

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
    **BACKUP_ROUTES,
}
