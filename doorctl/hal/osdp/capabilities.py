"""A reader's capabilities (osdp_PDCAP) in the words of the OSDP specification.

Each PDCAP entry is a function code, a compliance level and a number of items; what
the level and the items mean depends on the function. ``describe`` gives the
function's name in the specification and a short summary of what the reader said,
so that a page shows "OSDP version: SIA OSDP 2.2" rather than "function 16".
"""

from __future__ import annotations

from collections.abc import Callable

# Function code -> (key in the live fields, name in the specification).
FUNCTIONS = {
    1: ("contact_status_monitoring", "Contact status monitoring"),
    2: ("output_control", "Output control"),
    3: ("card_data_format", "Card data format"),
    4: ("reader_led_control", "Reader LED control"),
    5: ("reader_audible_output", "Reader audible output"),
    6: ("reader_text_output", "Reader text output"),
    7: ("time_keeping", "Time keeping"),
    8: ("check_character_support", "Check character support"),
    9: ("communication_security", "Communication security"),
    10: ("receive_buffer_size", "Receive buffer size"),
    11: ("largest_combined_message_size", "Largest combined message size"),
    12: ("smart_card_support", "Smart card support"),
    13: ("readers", "Readers"),
    14: ("biometrics", "Biometrics"),
    15: ("secure_pin_entry", "Secure PIN entry support"),
    16: ("osdp_version", "OSDP version"),
}

# What each compliance level means, where the specification lists the levels.
LEVELS = {
    1: {
        1: "inputs monitored without supervision",
        2: "inputs configurable as normally open or closed",
        3: "supervised inputs",
        4: "supervised inputs with custom end-of-line resistors",
    },
    2: {
        1: "on and off by command",
        2: "on and off, normal state configurable",
        3: "on and off, and timed",
        4: "timed, normal state configurable",
    },
    3: {1: "card data as bits", 2: "card data as BCD characters", 3: "bits or BCD characters"},
    4: {1: "on and off only", 2: "timed", 3: "timed, two colours", 4: "timed, three colours"},
    5: {1: "on and off only", 2: "timed"},
    6: {0: "no display", 1: "1 row of 16 characters", 2: "2 rows of 16", 3: "4 rows of 16"},
    7: {0: "none", 1: "takes time and date from the panel", 2: "keeps time and date itself"},
    8: {0: "checksum only", 1: "CRC-16"},
    14: {0: "none", 1: "fingerprint, template 1", 2: "fingerprint, template 2", 3: "iris"},
    15: {0: "not supported", 1: "supported"},
    16: {0: "unspecified", 1: "IEC 60839-11-5", 2: "SIA OSDP 2.2"},
}

# What the number of items counts, for the functions where it counts something.
ITEMS = {
    1: ("input", "inputs"),
    2: ("output", "outputs"),
    4: ("LED per reader", "LEDs per reader"),
    5: ("per reader", "per reader"),
    6: ("per reader", "per reader"),
    13: ("reader", "readers"),
}


def _size(compliance: int, items: int) -> str:
    """Buffer and message sizes: a 16-bit count of bytes, low byte in the level."""
    return f"{compliance | items << 8} bytes"


def _security(compliance: int, items: int) -> str:
    """Bit 0 of the level: AES-128; bit 0 of the items: takes the default key SCBK-D."""
    if not compliance & 1:
        return "none"
    return "AES-128" + (", accepts the default key (SCBK-D)" if items & 1 else "")


def _smart_card(compliance: int, items: int) -> str:
    """Bit 0: transparent reader mode; bit 1: extended packet mode."""
    modes = [m for bit, m in ((1, "transparent mode"), (2, "extended packets")) if compliance & bit]
    return ", ".join(modes) or "none"


SUMMARIES: dict[int, Callable[[int, int], str]] = {
    9: _security,
    10: _size,
    11: _size,
    12: _smart_card,
}


def key(function: int) -> str:
    """The function's key in a reader's capabilities ("osdp_version")."""
    return FUNCTIONS.get(function, (f"function_{function}", ""))[0]


def describe(function: int, compliance: int, items: int) -> dict:
    """One PDCAP entry with its name and a summary in the specification's terms."""
    name = FUNCTIONS.get(function, ("", f"Function {function} (not in OSDP 2.2)"))[1]
    return {
        "compliance": compliance,
        "items": items,
        "function": function,
        "name": name,
        "summary": summary(function, compliance, items),
    }


def summary(function: int, compliance: int, items: int) -> str:
    """What the level (and the items, where they count something) say."""
    if function in SUMMARIES:
        return SUMMARIES[function](compliance, items)
    parts = []
    if function in LEVELS:
        parts.append(LEVELS[function].get(compliance, f"level {compliance}"))
    elif function in FUNCTIONS and function != 13:
        parts.append(f"level {compliance}")
    if function in ITEMS:
        parts.append(f"{items} {ITEMS[function][items != 1]}")
    elif function not in FUNCTIONS:
        parts.append(f"level {compliance}, {items} items")
    return ", ".join(parts)
