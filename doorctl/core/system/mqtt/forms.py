"""The three MQTT settings sections (manual: "MQTT client", "MQTT publication",
"MQTT subscriptions"), each defined once as a form that validates the page, the REST
API and the store.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import BooleanField, Field, Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, StopValidation, ValidationError

from doorctl.core.fields import ListField, NumberChoice, Present, StrictInteger, Switch, Text

PROTOCOLS = {"tcp": 1883, "ssl": 8883, "ws": 80, "wss": 443}
PROTOCOL_NAMES = {
    "tcp": lazy_gettext("MQTT over TCP"),
    "ssl": lazy_gettext("MQTT over SSL"),
    "ws": lazy_gettext("MQTT over WebSocket"),
    "wss": lazy_gettext("MQTT over WebSocket Secure"),
}
RETAIN = [
    SelectChoice("none", lazy_gettext("None")),
    SelectChoice("property", lazy_gettext("Property (stateful events)")),
    SelectChoice("all", lazy_gettext("All")),
]
SUBSCRIPTION_TYPES = [
    SelectChoice("stateless", lazy_gettext("Stateless")),
    SelectChoice("stateful", lazy_gettext("Stateful")),
]
VERSIONS = [SelectChoice("3.1.1", "MQTT 3.1.1"), SelectChoice("5", "MQTT 5")]
MAX_TOPIC = 256
MAX_SUBSCRIPTIONS = 32


def topic_error(topic: str, wildcards: bool) -> str | None:
    """Why `topic` is not a valid MQTT topic (or filter, with wildcards), else None."""
    if not topic:
        return _("Enter a topic.")
    if len(topic) > MAX_TOPIC or "\x00" in topic:
        return _("At most %(most)d characters, no NUL.", most=MAX_TOPIC)
    if not wildcards and ("#" in topic or "+" in topic):
        return _("Wildcards + and # are not allowed here.")
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return _("# must be a whole level and the last one, as in a/b/#.")
        if "+" in level and level != "+":
            return _("+ must be a whole level, as in a/+/c.")
    return None


class TopicRule:
    """A WTForms validator for topics (wildcards=False) and filters (True)."""

    def __init__(self, wildcards: bool, required: bool = True):
        self.wildcards = wildcards
        self.required = required

    def __call__(self, form: Form, field: Field) -> None:
        if not isinstance(field.data, str | None):
            raise StopValidation(_("Must be text."))
        if not field.data and not self.required:
            return
        error = topic_error(field.data or "", self.wildcards)
        if error:
            raise ValidationError(error)


class QosField(NumberChoice):
    """QoS 0, 1 or 2."""

    def __init__(self, label=None, default: int = 0, **kw):
        label = label or lazy_gettext("QoS")
        rule = lazy_gettext("QoS must be 0, 1 or 2.")
        super().__init__(label, numbers=(0, 1, 2), rule=rule, default=default, **kw)


def message_fields(prefix: str, payload: str, send_label) -> dict:
    """The fields of the connect message or the Last Will and Testament message."""
    return {
        f"{prefix}_send": BooleanField(send_label, default=True),
        f"{prefix}_use_default": BooleanField(lazy_gettext("Use default"), default=True),
        f"{prefix}_topic": StringField(
            lazy_gettext("Topic"),
            default="",
            validators=[TopicRule(wildcards=False, required=False)],
        ),
        f"{prefix}_payload": StringField(
            lazy_gettext("Payload"), default=payload, validators=[Length(0, 4096)]
        ),
        f"{prefix}_retain": BooleanField(lazy_gettext("Retain"), default=True),
        f"{prefix}_qos": QosField(default=1),
    }


class ClientBase(Form):
    """MQTT client: the broker, the session and the connect and LWT messages."""

    connect = BooleanField(lazy_gettext("Connect"), default=False)
    host = StringField(lazy_gettext("Broker host"), default="", validators=[Length(0, 253)])
    protocol = SelectField(
        lazy_gettext("Protocol"),
        choices=[SelectChoice(k, v) for k, v in PROTOCOL_NAMES.items()],
        default="tcp",
    )
    port = StrictInteger(
        lazy_gettext("Port"), default=1883, validators=[Present(), NumberRange(1, 65535)]
    )
    alpn = StringField(lazy_gettext("ALPN protocol"), default="", validators=[Length(0, 255)])
    username = StringField(lazy_gettext("Username"), default="", validators=[Length(0, 255)])
    password = StringField(lazy_gettext("Password"), default="", validators=[Length(0, 255)])
    clean_session = BooleanField(lazy_gettext("Clean session"), default=True)
    keep_alive = StrictInteger(
        lazy_gettext("Keep alive interval (s)"),
        default=60,
        validators=[Present(), NumberRange(0, 65535)],
    )
    timeout = StrictInteger(
        lazy_gettext("Timeout (s)"), default=60, validators=[Present(), NumberRange(1, 600)]
    )
    reconnect = BooleanField(lazy_gettext("Reconnect automatically"), default=True)
    mqtt_version = SelectField(lazy_gettext("MQTT version"), choices=VERSIONS, default="3.1.1")
    ca_certificate = Text(
        lazy_gettext("CA certificate"),
        default="",
        validators=[Length(0, 64)],
        description="Id of a CA certificate in the certificate store that the broker's "
        "certificate must chain to; empty: the system's CAs.",
    )
    client_certificate = Text(
        lazy_gettext("Client certificate"),
        default="",
        validators=[Length(0, 64)],
        description="Id of a client/server certificate (with its private key) in the "
        "certificate store, for a broker that asks for one; empty: none.",
    )

    def validate_host(self, field: Field) -> None:
        if self.connect.data and not field.data.strip():
            raise ValidationError(_("Enter the broker's hostname or IP address to connect."))
        if any(c.isspace() for c in field.data):
            raise ValidationError(_("A hostname has no spaces."))


def client_form(serial: str) -> type[Form]:
    """The MQTT client section, with the defaults derived from the serial number."""
    fields = {
        "client_id": StringField(
            lazy_gettext("Client ID"),
            default=f"doorctl-{serial}",
            validators=[Present(), Length(1, 128)],
        ),
        "topic_prefix": StringField(
            lazy_gettext("Device topic prefix"),
            default=f"doorctl/{serial}",
            validators=[Present(), TopicRule(wildcards=False)],
        ),
        **message_fields(
            "connect_message", "connected", lazy_gettext("Connect message: send message")
        ),
        **message_fields(
            "lwt", "disconnected", lazy_gettext("Last Will and Testament: send message")
        ),
    }
    return type("MqttClientForm", (ClientBase,), fields)


class PublicationForm(Form):
    """MQTT publication: which events go out, on which topics, how."""

    conditions = ListField(lazy_gettext("Conditions (event topics; none means all)"))
    use_default_prefix = BooleanField(lazy_gettext("Use default topic prefix"), default=True)
    custom_prefix = StringField(
        lazy_gettext("Custom topic prefix"),
        default="",
        validators=[TopicRule(wildcards=False, required=False)],
    )
    include_topic_name = BooleanField(lazy_gettext("Include topic name"), default=True)
    include_namespaces = BooleanField(lazy_gettext("Include topic namespaces"), default=False)
    include_serial = BooleanField(lazy_gettext("Include serial number"), default=True)
    retain = SelectField(lazy_gettext("Retain"), choices=RETAIN, default="none")
    qos = QosField(default=1)
    queue_limit = StrictInteger(
        lazy_gettext("Store and forward: messages kept while offline"),
        default=10000,
        validators=[Present(), NumberRange(100, 100000)],
    )
    home_assistant = BooleanField(lazy_gettext("Home Assistant discovery"), default=False)
    discovery_prefix = StringField(
        lazy_gettext("Discovery prefix"),
        default="homeassistant",
        validators=[TopicRule(wildcards=False)],
    )

    def validate_conditions(self, field: Field) -> None:
        for number, topic in enumerate(field.data, 1):
            if not isinstance(topic, str) or not topic or len(topic) > MAX_TOPIC:
                raise ValidationError(
                    _("Condition %(number)d: enter an event topic.", number=number)
                )
            if any(c.isspace() for c in topic):
                raise ValidationError(
                    _("Condition %(number)d: an event topic has no spaces.", number=number)
                )

    def validate_custom_prefix(self, field: Field) -> None:
        if not self.use_default_prefix.data and not field.data:
            raise ValidationError(_("Enter a topic prefix or use the default one."))


class SubscriptionForm(Form):
    """One subscription: filter, device prefix, type and QoS."""

    filter = Text(lazy_gettext("Subscription filter"), validators=[TopicRule(wildcards=True)])
    use_prefix = Switch(lazy_gettext("Use device topic prefix"), default=False)
    type = SelectField(
        lazy_gettext("Subscription type"), choices=SUBSCRIPTION_TYPES, default="stateless"
    )
    qos = QosField(default=0)


class SubscriptionsForm(Form):
    """MQTT subscriptions, and the remote door commands (off by default)."""

    subscriptions = ListField(lazy_gettext("Subscriptions"))
    door_commands = BooleanField(lazy_gettext("Remote door commands"), default=False)

    def validate_subscriptions(self, field: Field) -> None:
        if len(field.data) > MAX_SUBSCRIPTIONS:
            raise ValidationError(_("At most %(most)d subscriptions.", most=MAX_SUBSCRIPTIONS))
        cleaned = []
        for number, item in enumerate(field.data, 1):
            form = SubscriptionForm(data=item if isinstance(item, dict) else {})
            if not isinstance(item, dict) or not form.validate():
                name, messages = next(iter(form.errors.items()), ("filter", [_("Not an object.")]))
                raise ValidationError(
                    _(
                        "Subscription %(number)d, %(field)s: %(message)s",
                        number=number,
                        field=name,
                        message=messages[0],
                    )
                )
            cleaned.append(form.data)
        field.data = cleaned


def subscription_errors(item: dict) -> tuple[dict, dict]:
    """A single subscription validated (the page's Add subscription): data and errors."""
    form = SubscriptionForm(data=item)
    ok = form.validate()
    return form.data, {} if ok else {k: v[0] for k, v in form.errors.items()}


def client_changes(current: dict, changes: dict) -> dict:
    """Follow the protocol's port when it was the old protocol's own."""
    changes = dict(changes)
    protocol = changes.get("protocol")
    port = PROTOCOLS.get(protocol) if isinstance(protocol, str) else None
    was_default = current["port"] == PROTOCOLS.get(current["protocol"])
    if port and "port" not in changes and was_default:
        changes["port"] = port
    return changes
