"""Sentences of System's events (users, security, network, MQTT) and of the audit
trail of configuration changes."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from doorctl.blueprints.logs.sentences import Context, door_name, says, text
from doorctl.core.access_control import access_rules, cardholders, credentials, schedules
from doorctl.core.access_control.cardholder_import import IMPORTED
from doorctl.core.access_control.readers import configuration as readers
from doorctl.core.engine.process import TOPIC as ENGINE
from doorctl.core.engine.sender import EVENTS_LOST
from doorctl.core.events import Event
from doorctl.core.logs.audit import topic
from doorctl.core.logs.remote_syslog import servers as remote_syslog
from doorctl.core.system import certificates
from doorctl.core.system.date_time.service import SYNC_TOPIC
from doorctl.core.system.mqtt import messages, old_files
from doorctl.core.system.network import http_https, ip, sessions
from doorctl.core.system.security import blocking, firmware_key
from doorctl.core.system.snmp import users as snmp_users

ROLES = {
    "viewer": lazy_gettext("viewer"),
    "operator": lazy_gettext("operator"),
    "administrator": lazy_gettext("administrator"),
}
USER_CHANGES = {"password": lazy_gettext("password"), "role": lazy_gettext("role")}


def _user(event: Event) -> str:
    return text(event.source.get("user"), _("an unknown user"))


@says("tns1:Device/User/Login")
def _login(event: Event, context: Context) -> str:
    return _(
        "%(user)s logged in from %(address)s",
        user=_user(event),
        address=text(event.data.get("address")),
    )


@says(blocking.FAILED_TOPIC)
def _login_failed(event: Event, context: Context) -> str:
    address = text(event.data.get("address"))
    if event.data.get("summary"):
        return ngettext(
            "%(num)d more failed login from %(address)s",
            "%(num)d more failed logins from %(address)s",
            event.data.get("failures") or 0,
            address=address,
        )
    if event.source.get("user"):
        return _("Failed login as %(user)s from %(address)s", user=_user(event), address=address)
    return _("Failed login with an unknown user name from %(address)s", address=address)


@says("tns1:Device/User/Added")
def _user_added(event: Event, context: Context) -> str:
    role = event.data.get("role")
    return _("User %(user)s added as %(role)s", user=_user(event), role=ROLES.get(role, text(role)))


@says("tns1:Device/User/Updated")
def _user_updated(event: Event, context: Context) -> str:
    changed = [str(USER_CHANGES.get(name, name)) for name in event.data.get("changed") or ()]
    return _("User %(user)s changed: %(what)s", user=_user(event), what=text(changed, _("nothing")))


@says("tns1:Device/User/Logout")
def _user_logged_out(event: Event, context: Context) -> str:
    return _("Every session of %(user)s was ended", user=_user(event))


@says("tns1:Device/User/Deleted")
def _user_deleted(event: Event, context: Context) -> str:
    return _("User %(user)s deleted", user=_user(event))


@says(sessions.ENDED_TOPIC)
def _session_ended(event: Event, context: Context) -> str:
    return _(
        "A session of %(user)s was ended by %(by)s from %(address)s",
        user=text(event.source.get("user"), _("a visitor")),
        by=text(event.data.get("by")),
        address=text(event.data.get("address")),
    )


@says(blocking.BLOCK_TOPIC)
def _blocked(event: Event, context: Context) -> str:
    address = text(event.source.get("address"))
    if event.data.get("state"):
        return _(
            "Address %(address)s blocked for %(seconds)s s after failed logins",
            address=address,
            seconds=text(event.data.get("seconds")),
        )
    return _("Address %(address)s no longer blocked", address=address)


@says(firmware_key.TOPIC)
def _firmware_key(event: Event, context: Context) -> str:
    if event.data.get("action") == "removed":
        return _(
            "%(user)s removed the custom-signed firmware certificate %(fingerprint)s",
            user=_user(event),
            fingerprint=text(event.data.get("fingerprint")),
        )
    return _(
        "%(user)s installed the custom-signed firmware certificate %(fingerprint)s",
        user=_user(event),
        fingerprint=text(event.data.get("fingerprint")),
    )


@says(http_https.CONFIRMED_TOPIC)
def _https_confirmed(event: Event, context: Context) -> str:
    return _(
        "New HTTP and HTTPS settings confirmed: %(settings)s",
        settings=text(event.data.get("settings")),
    )


@says(http_https.REVERTED_TOPIC)
def _https_reverted(event: Event, context: Context) -> str:
    return _(
        "HTTP and HTTPS settings went back to %(settings)s: %(reason)s",
        settings=text(event.data.get("settings")),
        reason=text(event.data.get("reason")),
    )


@says(ip.CONFIRMED_TOPIC)
def _ip_confirmed(event: Event, context: Context) -> str:
    return _("New IP settings confirmed: %(settings)s", settings=text(event.data.get("settings")))


@says(ip.REVERTED_TOPIC)
def _ip_reverted(event: Event, context: Context) -> str:
    return _(
        "IP settings went back to %(settings)s: %(reason)s",
        settings=text(event.data.get("settings")),
        reason=text(event.data.get("reason")),
    )


# --- MQTT ----------------------------------------------------------------------------

PAYLOAD_SHOWN = 80


def _payload(event: Event) -> str:
    payload = text(event.data.get("payload"), _("an empty message"))
    return payload if len(payload) <= PAYLOAD_SHOWN else payload[: PAYLOAD_SHOWN - 1] + "…"


@says(messages.STATELESS)
def _mqtt_message(event: Event, context: Context) -> str:
    return _(
        "MQTT message on %(topic)s: %(payload)s",
        topic=text(event.key.get("topic")),
        payload=_payload(event),
    )


@says(messages.STATEFUL)
def _mqtt_state(event: Event, context: Context) -> str:
    return _(
        "MQTT state on %(topic)s: %(payload)s",
        topic=text(event.key.get("topic")),
        payload=_payload(event),
    )


RESULTS = {
    "accepted": lazy_gettext("done"),
    "requested": lazy_gettext("passed on"),
    "rejected": lazy_gettext("refused"),
    "ignored": lazy_gettext("ignored"),
}


@says(messages.DOOR_COMMAND)
def _door_command(event: Event, context: Context) -> str:
    result = event.data.get("result")
    words = {
        "door": door_name(event, context),
        "action": text(event.data.get("action")),
        "client": text(event.source.get("client_id")),
        "result": RESULTS.get(result, text(result)),
    }
    if event.data.get("reason"):
        return _(
            "MQTT client %(client)s asked %(door)s to %(action)s: %(result)s, %(reason)s",
            reason=event.data["reason"],
            **words,
        )
    return _("MQTT client %(client)s asked %(door)s to %(action)s: %(result)s", **words)


# --- configuration changes (the audit trail) ------------------------------------------

RECORDS = {
    cardholders.KIND: lazy_gettext("Cardholder"),
    cardholders.GROUP_KIND: lazy_gettext("Cardholder group"),
    credentials.KIND: lazy_gettext("Credential"),
    schedules.KIND: lazy_gettext("Schedule"),
    access_rules.KIND: lazy_gettext("Access rule"),
    readers.KIND: lazy_gettext("Reader"),
    certificates.KIND: lazy_gettext("Certificate"),
    remote_syslog.KIND: lazy_gettext("Remote syslog server"),
    snmp_users.KIND: lazy_gettext("SNMP v3 user"),
}
SECTIONS = {
    "access": lazy_gettext("Access control"),
    "alarms": lazy_gettext("Alarms"),
    "door": lazy_gettext("Door"),
    "io_ports": lazy_gettext("I/O ports"),
    "event_log": lazy_gettext("Event log"),
    "sessions": lazy_gettext("Sessions"),
    "mqtt_client": lazy_gettext("MQTT client"),
    "mqtt_publication": lazy_gettext("MQTT publication"),
    "mqtt_subscriptions": lazy_gettext("MQTT subscriptions"),
    "https": lazy_gettext("HTTP and HTTPS"),
    "security": lazy_gettext("Security"),
    "date_time": lazy_gettext("Date and time"),
    "proxy": lazy_gettext("Proxy"),
    "snmp": lazy_gettext("SNMP"),
    "network_discovery": lazy_gettext("Network discovery"),
}


def _record_changed(event: Event, context: Context) -> str:
    what, record = RECORDS.get(event.topic.split("/")[1], ""), text(event.data.get("id"))
    if event.data.get("action") == "create":
        return _("%(what)s %(id)s added", what=what, id=record)
    return _("%(what)s %(id)s changed", what=what, id=record)


def _record_removed(event: Event, context: Context) -> str:
    what = RECORDS.get(event.topic.split("/")[1], "")
    return _("%(what)s %(id)s removed", what=what, id=text(event.data.get("id")))


for _kind in RECORDS:
    says(topic(_kind, "update"))(_record_changed)
    says(topic(_kind, "delete"))(_record_removed)


@says(topic("Settings", "update"))
def _settings_changed(event: Event, context: Context) -> str:
    section = event.data.get("id")
    name = SECTIONS.get(section, text(section))
    labels = context.labels(section) if section else {}
    changed = [labels.get(field, field) for field in event.data.get("changed") or ()]
    if not changed:
        return _("Settings of %(section)s saved, nothing changed", section=name)
    return _("Settings of %(section)s changed: %(fields)s", section=name, fields=", ".join(changed))


@says(SYNC_TOPIC)
def _time_sync(event: Event, context: Context) -> str:
    """The clock followed an NTP server again, or stopped following one."""
    if event.data.get("state") == "synchronized":
        return _("Time in sync again, with %(server)s", server=text(event.data.get("server")))
    return _("Time sync lost: %(reason)s", reason=text(event.data.get("reason")))


@says(IMPORTED)
def _imported(event: Event, context: Context) -> str:
    people = event.data.get("cardholders") or 0
    cards = event.data.get("credentials") or 0
    return _(
        "Cardholders imported: %(cardholders)s, %(credentials)s",
        cardholders=ngettext("%(num)d cardholder", "%(num)d cardholders", people),
        credentials=ngettext("%(num)d credential", "%(num)d credentials", cards),
    )


@says(old_files.TOPIC)
def _certificate_import_failed(event: Event, context: Context) -> str:
    return text(event.data.get("message"), _("A certificate file could not be imported"))


@says(ENGINE)
def _door_engine(event: Event, context: Context) -> str:
    """The process that polls the readers and drives the doors ended or is back."""
    if event.data.get("state") == "restarting":
        return _(
            "The door engine ended (%(cause)s); outputs were reset and it restarts",
            cause=text(event.data.get("cause")),
        )
    return _("The door engine is running again")


@says(EVENTS_LOST)
def _events_lost(event: Event, context: Context) -> str:
    """Events the engine could not hand over while the web process lagged."""
    count = event.data.get("count") or 0
    return ngettext(
        "%(num)d event of the door engine was lost while the web process lagged",
        "%(num)d events of the door engine were lost while the web process lagged",
        count,
    )
