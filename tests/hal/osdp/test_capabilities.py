"""osdp_PDID's vendor code and osdp_PDCAP's functions, in the specification's terms."""

import pytest

from doorctl.hal.osdp import ReaderConfig
from doorctl.hal.osdp import capabilities as caps
from doorctl.hal.osdp import messages as m


def test_the_vendor_code_is_the_oui_in_its_usual_order():
    # OUI 00-CA-FE: least significant byte first on the wire.
    kind, found = m.parse_reply(m.PDID, bytes.fromhex("feca00070201000000010203"))
    assert kind == "id" and (found["vendor"], found["vendor_code"]) == ("00cafe", 0x00CAFE)


@pytest.mark.parametrize(
    ("entry", "key", "name", "summary"),
    [
        (
            (1, 3, 4),
            "contact_status_monitoring",
            "Contact status monitoring",
            "supervised inputs, 4 inputs",
        ),
        (
            (2, 4, 2),
            "output_control",
            "Output control",
            "timed, normal state configurable, 2 outputs",
        ),
        ((3, 1, 0), "card_data_format", "Card data format", "card data as bits"),
        (
            (4, 4, 1),
            "reader_led_control",
            "Reader LED control",
            "timed, three colours, 1 LED per reader",
        ),
        ((5, 2, 1), "reader_audible_output", "Reader audible output", "timed, 1 per reader"),
        ((6, 2, 1), "reader_text_output", "Reader text output", "2 rows of 16, 1 per reader"),
        ((7, 0, 0), "time_keeping", "Time keeping", "none"),
        ((8, 1, 0), "check_character_support", "Check character support", "CRC-16"),
        (
            (9, 1, 1),
            "communication_security",
            "Communication security",
            "AES-128, accepts the default key (SCBK-D)",
        ),
        ((10, 0, 1), "receive_buffer_size", "Receive buffer size", "256 bytes"),
        (
            (11, 0x40, 2),
            "largest_combined_message_size",
            "Largest combined message size",
            "576 bytes",
        ),
        (
            (12, 3, 0),
            "smart_card_support",
            "Smart card support",
            "transparent mode, extended packets",
        ),
        ((13, 0, 2), "readers", "Readers", "2 readers"),
        ((13, 0, 1), "readers", "Readers", "1 reader"),
        ((14, 1, 0), "biometrics", "Biometrics", "fingerprint, template 1"),
        ((15, 1, 0), "secure_pin_entry", "Secure PIN entry support", "supported"),
        ((16, 2, 0), "osdp_version", "OSDP version", "SIA OSDP 2.2"),
        ((16, 1, 0), "osdp_version", "OSDP version", "IEC 60839-11-5"),
        ((40, 1, 3), "function_40", "Function 40 (not in OSDP 2.2)", "level 1, 3 items"),
    ],
)
def test_every_function_code_has_its_name_and_a_meaningful_level(entry, key, name, summary):
    kind, found = m.parse_reply(m.PDCAP, bytes(entry))
    assert kind == "cap" and list(found) == [key]
    assert found[key] == {
        "compliance": entry[1],
        "items": entry[2],
        "function": entry[0],
        "name": name,
        "summary": summary,
    }


def test_all_sixteen_functions_of_the_specification_are_named():
    assert sorted(caps.FUNCTIONS) == list(range(1, 17))
    assert not any(caps.describe(f, 1, 1)["name"].startswith("Function") for f in range(1, 17))


@pytest.mark.peer
def test_a_libosdp_reader_with_vendor_00cafe(spawn_reader, make_bus):
    spawn_reader({"address": 1, "secure": False, "vendor": 0x00CAFE})
    bus, events = make_bus(ReaderConfig(1))
    online = events.wait("online", 1)
    assert online["vendor"] == "00cafe"
    assert online["capabilities"]["osdp_version"]["name"] == "OSDP version"
    assert bus.readers()[0]["capabilities"]["receive_buffer_size"]["summary"].endswith("bytes")
