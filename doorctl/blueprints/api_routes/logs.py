"""What the OpenAPI document says of the Logs menu's operations (Event log, Access
log, System log, Audit log, Reports and logs, Network trace) beyond rule and role."""

from __future__ import annotations

from doorctl.blueprints.api_schemas import (
    AUDIT_LOG,
    EVENTS,
    ID,
    LOG_QUERY,
    SYSTEM_LOG,
    TEXT,
    query,
)
from doorctl.blueprints.logs.audit_log import MAX_USER
from doorctl.blueprints.logs.network_trace import API_ROUTES as NETWORK_TRACE_ROUTES
from doorctl.blueprints.logs.reports import API_ROUTES as REPORT_ROUTES
from doorctl.blueprints.logs.system_log import MAX_SEARCH
from doorctl.core.eventlog import SECTION as EVENT_LOG
from doorctl.core.logs.kinds import KINDS
from doorctl.core.logs.system_log import LEVELS

# path -> (settings section, whether GET and the change answer the stored record,
#          the schema of each element of its list fields)
SETTINGS = {
    "/api/v1/event-log/settings": (EVENT_LOG, True, {}),
}
# (endpoint, method) -> what the document says besides the rule and the role
ROUTES: dict[tuple[str, str], dict] = {
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
    **REPORT_ROUTES,
    **NETWORK_TRACE_ROUTES,
}
