"""The syslog formats as pure functions: RFC 5424's escapes and names, RFC 3164's date,
RFC 6587's octet counting, and which events go out with which PRI and MSGID."""

from __future__ import annotations

import logging
import os
import time

import pytest

from doorctl.core.events import Event
from doorctl.core.logs.remote_syslog import formats, messages
from doorctl.core.logs.remote_syslog.formats import Message

# 2026-03-05 06:07:08.000009 in the machine's zone
WHEN = time.mktime((2026, 3, 5, 6, 7, 8, 0, 0, -1)) + 0.000009


@pytest.mark.parametrize(
    ("value", "escaped"),
    [('say "hi"', 'say \\"hi\\"'), ("a\\b", "a\\\\b"), ("[x]", "[x\\]"), ("plain", "plain")],
)
def test_param_values_escape_quote_backslash_and_bracket(value, escaped):
    assert formats.escape(value) == escaped


@pytest.mark.parametrize(
    ("name", "sd_name"),
    [("door", "door"), ("a b=c", "a_b_c"), ('x"]@', "x___"), ("é", "_"), ("n" * 40, "n" * 32)],
)
def test_sd_names_are_printable_ascii_without_the_reserved_characters(name, sd_name):
    assert formats.sd_name(name) == sd_name


def message(**changes) -> Message:
    fields = dict(
        time=WHEN,
        facility=formats.LOCAL0,
        severity=5,
        msgid="config",
        text="changed",
        hostname="door-1",
        procid=42,
        data={"data": {"id": 3, "list": [1, "a"]}},
    )
    return Message(**{**fields, **changes})


def test_rfc5424_header_structured_data_and_text():
    text = formats.rfc5424(message()).decode()
    assert text.startswith("<133>1 2026-03-05T06:07:08.000009")
    assert text.endswith(
        ' door-1 doorctl 42 config [data@32473 id="3" list="[1,\\"a\\"\\]"] changed'
    )


def test_rfc5424_without_data_or_text_has_nil_values():
    text = formats.rfc5424(message(data={}, text="", hostname="")).decode()
    assert text.endswith(" - doorctl 42 config -")


def test_rfc3164_pads_the_day_and_puts_the_data_in_the_text():
    text = formats.rfc3164(message()).decode()
    assert text == '<133>Mar  5 06:07:08 door-1 doorctl[42]: changed data.id=3 data.list=[1,"a"]'


def test_octet_counting_counts_octets_not_characters():
    assert formats.octet_counted("ä".encode()) == b"2 \xc3\xa4"


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("tns1:AccessControl/AccessGranted/Credential", ("access", 4, 6)),
        ("tns1:AccessControl/Denied/Credential", ("access", 4, 5)),
        ("tns1:Door/State/DoorAlarm", ("alarm", 16, 4)),
        ("tns1:Device/Tamper", ("alarm", 16, 4)),
        ("tns1:Door/State/DoorMode", ("door", 16, 6)),
        ("tns1:Configuration/Cardholder/Changed", ("config", 16, 5)),
        ("tns1:Device/User/Login", ("login", 4, 6)),
        ("tns1:Device/User/LoginFailed", ("login", 4, 4)),
        ("tns1:Device/User/Logout", ("user", 4, 5)),
        ("tns1:Device/Trigger/DigitalInput", None),
        ("tns1:MQTT/Message/Stateless", None),
    ],
)
def test_which_events_go_out_and_how(topic, kind):
    assert messages.event_kind(topic) == kind


def test_an_event_without_parts_has_only_its_own_element():
    event = Event(9, WHEN, "tns1:Door/State/DoorMode")
    sent = messages.from_event(event, "door-1")
    assert sent.data == {"event": {"topic": "tns1:Door/State/DoorMode", "id": 9}}
    assert sent.procid == os.getpid()


def test_log_levels_map_to_severities():
    levels = (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)
    assert [messages.log_severity(level) for level in levels] == [2, 3, 4, 6, 7]
