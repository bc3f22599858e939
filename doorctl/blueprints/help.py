"""Help: what each page of the interface does, section by section, each linking to it.

Built from the main menu the user sees, so it describes exactly the pages that exist
and that this user may open; a page without a description here is still listed.
"""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from doorctl.blueprints.common import allow, render
from doorctl.blueprints.menu import menu_for

bp = Blueprint("help", __name__)
SECTIONS = {
    "Status": _l("What the device is doing now, kept up to date by itself."),
    "Access control": _l("Who may open which door, when, and with what."),
    "System": _l("Who may use the device and how it reaches the network."),
    "Accessories": _l("The board's inputs and outputs."),
    "Logs": _l("What happened: every event, and every access granted or refused."),
    "Maintenance": _l(
        "Restarting and resetting the device, keeping it up to date and its configuration "
        "safe, and going back when needed."
    ),
}
PAGES = {
    "status.page": _l(
        "Each door's state in one line (locked, unlocked, open, closed, alarms), the alarms "
        "that need attention, the readers' links, time sync and the device info (version, serial "
        "number, hostname, uptime, hardware)."
    ),
    "doors.page": _l(
        "Each door's live state. Operators give access, lock, unlock, block, lock down, lock "
        "open and return to normal; a door in Locked down refuses every action but Return "
        "to normal, and says so. Administrators open Door settings: lock type, access "
        "times, relock, door monitor, REX and the scheduled unlock."
    ),
    "cardholders.page": _l(
        "People and their credentials (cards and PINs), validity dates, groups, and "
        "import or export as CSV."
    ),
    "schedules.page": _l("Weekly time intervals that access rules and scheduled unlocks use."),
    "access_rules.page": _l(
        "Which cardholders or groups may pass which reader, with which credentials, "
        "on which schedule."
    ),
    "alarms.page": _l(
        "Casing open, external tamper, reader tamper and secure channel alarms: each on or "
        "off, and its state now."
    ),
    "peripherals.page": _l(
        "The readers: OSDP readers on the RS-485 bus (address, speed, secure channel, "
        "keys, firmware upgrade) and the Wiegand port, with each reader's live state."
    ),
    "users.page": _l(
        "Accounts of the web interface and the REST API, each a viewer, operator or "
        "administrator, and how long an idle session lasts."
    ),
    "date_time.page": _l(
        "The device's clock: synchronized with the NTP servers DHCP gives or those you "
        "enter (with NTS), or set by hand; and its time zone, which schedules and logs use."
    ),
    "discovery.page": _l(
        "Bonjour, UPnP and WS-Discovery: each on or off, and the friendly names that "
        "computers and apps on the network show for the device."
    ),
    "network.page": _l("HTTP and HTTPS ports; a change waits for your confirmation."),
    "security.page": _l(
        "Blocking of addresses that try wrong passwords, and which addresses may connect."
    ),
    "certificates.page": _l("The device certificate for HTTPS and the trusted CA certificates."),
    "mqtt.page": _l(
        "The MQTT client: the broker it connects to, which events it publishes, and the "
        "topics it subscribes to."
    ),
    "snmp.page": _l(
        "SNMP off, v1 and v2c or v3: what managers read (the system group, doors, readers "
        "and I/O), with which community or user, and where traps go."
    ),
    "io_ports.page": _l(
        "Each I/O port's name, direction, normal state and supervision, its live state, "
        "and outputs to activate."
    ),
    "simulator.page": _l(
        "On the simulated board only: present cards, type PINs, open the door, press REX "
        "and change inputs, and see what the controller decided."
    ),
    "events.page": _l(
        "Every event, newest first, filtered by topic and time; new ones appear live."
    ),
    "access_log.page": _l("Every access granted or refused, with who, where and why."),
    "maintenance.page": _l(
        "Restart doorctl (or the whole device), restore the factory settings keeping the "
        "network settings, or reset everything to factory default."
    ),
    "backup.page": _l(
        "Download the configuration (settings, users, access data, reader keys, "
        "certificates) as one file encrypted with your password, and restore it here or on "
        "a replacement unit after seeing what it holds; the logs are not in it."
    ),
    "firmware.page": _l(
        "The running and previous versions of doorctl; upgrade from a signed bundle (the "
        "device comes back to the running version by itself if the new one does not start) "
        "and roll back to the previous version with its data as it was."
    ),
}


@bp.route("/help")
@allow("viewer")
def page():
    """The product help (the appliance often has no internet, so it is local)."""
    sections = [
        {**section, "about": SECTIONS.get(section["title"]), "pages": _pages(section)}
        for section in menu_for()
    ]
    return render("help/page.html", sections=sections)


def _pages(section: dict) -> list[dict]:
    """The section's pages, each with its description (found by the page's endpoint)."""
    urls = current_app.url_map.bind("")
    return [{**item, "about": PAGES.get(urls.match(item["url"])[0])} for item in section["items"]]
