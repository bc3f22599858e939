"""The simulator panel (sim board only, Administrator): drive the board's terminals.

Cards and keys travel as Wiegand pulses with real timing through the real frame
assembler; inputs change exactly as wiring would change them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.access_control.simulator_result import TOPICS, decided, told
from doorctl.blueprints.common import appliance, json_body, render
from doorctl.core.board import Simulator
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.events import Subscription
from doorctl.hal.wiegand import CARD_FORMATS

MENU_ITEMS = [("Accessories", lazy_gettext("Simulator"), "simulator.page")]
bp = Blueprint("simulator", __name__)
TAMPERS = ("casing_open", "external_tamper", "reader_tamper", "external_alarm", "aux3", "aux4")


def simulator() -> Simulator:
    """The appliance's simulator; 404 with a clear message on real hardware."""
    sim = appliance().simulator
    sim.require()
    return sim


def _int_or_none(text: str | None, name: str) -> int | None:
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid({name: "Must be a whole number."}) from None


def _number(text: str | None, name: str) -> float:
    try:
        return float(text or "")
    except ValueError:
        raise Invalid({name: "Must be a number."}) from None


def board_html() -> str:
    """The board's live state: door, outputs, inputs, what the reader received."""
    sim = simulator()
    return render_template(
        "access_control/simulator/_board.html",
        board=sim.snapshot(),
        reads=list(sim.reads),
        presses=list(sim.presses),
        door=appliance().doors[1].status(),
    )


def _panel(message: str, tone: str = "ok", status: int = 200):
    """What a control did, as a result line, with the board as it is now (out of band)."""
    html = render_template(
        "access_control/simulator/_result.html", message=message, tone=tone, board=board_html()
    )
    return html, status


@bp.route("/simulator")
def page():
    """The simulator panel."""
    simulator()
    return render(
        "access_control/simulator/page.html",
        formats=(*CARD_FORMATS, "raw"),
        tampers=TAMPERS,
        board=board_html(),
    )


page.doorctl_shown = lambda: appliance().simulator.available()  # the menu shows it on sim only


@bp.route("/simulator/board")
def board():
    """The board's live state alone."""
    return board_html()


@bp.route("/simulator/<action>", methods=["POST"])
def act(action: str):
    """One control of the panel; the live part comes back with what happened."""
    sim, form = simulator(), request.form
    controls = {
        "door": lambda: sim.set_door(form.get("position", "")),
        "rex": sim.press_rex,
        "input": lambda: sim.set_input(form.get("name", ""), form.get("active") == "1"),
        "resistance": lambda: sim.set_resistance(form.get("name", ""), _ohms(form)),
        "card": lambda: sim.card(
            form.get("format", ""),
            _int_or_none(form.get("facility"), "facility"),
            _int_or_none(form.get("card"), "card"),
        ),
        "keys": lambda: sim.keys(form.get("keys", "")),
        "button": lambda: sim.press_button(_number(form.get("seconds"), "seconds")),
        "shake": lambda: sim.shake(_number(form.get("g"), "g")),
    }
    if action not in controls:
        raise Invalid({"action": _("Choose one of: %(actions)s.", actions=", ".join(controls))})
    # Listen before the pulses go out: the decision may come before the answer does.
    heard = Subscription(appliance().bus, TOPICS)
    try:
        controls[action]()
        if action in ("card", "keys"):
            return _panel(*decided(heard, action, form))
    except DoorctlError as error:
        return _panel(_("Refused by the simulator: %(why)s", why=_why(error)), "danger")
    finally:
        heard.close()
    return _panel(told(action, form))


def _why(error: DoorctlError) -> str:
    """An error's message, or its fields' messages when it names fields."""
    return " ".join(error.fields.values()) if getattr(error, "fields", None) else error.message


def _ohms(form) -> float | str:
    value = form.get("resistance", "")
    return value if value in ("cut", "short") else _number(value, "resistance")


@bp.route("/api/v1/sim/board")
def api_board():
    """`{"inputs": {name: {"active", "resistance"}}, "outputs": {name: {"active"}}}`."""
    return jsonify(simulator().snapshot())


@bp.route("/api/v1/sim/inputs/<name>", methods=["POST"])
def api_input(name: str):
    """`{"active": bool}` or, on a supervised input, `{"resistance": ohms|"cut"|"short"}`."""
    body, sim = json_body(), simulator()
    if "resistance" in body:
        sim.set_resistance(name, body["resistance"])
    elif "active" in body:
        sim.set_input(name, body["active"])
    else:
        raise Invalid({"active": 'Send "active" (true/false) or "resistance" (ohms).'})
    return jsonify(sim.snapshot())


@bp.route("/api/v1/sim/door", methods=["POST"])
def api_door():
    """`{"position": "open"|"closed"}`: move the simulated door."""
    sim = simulator()
    sim.set_door(json_body().get("position"))
    return jsonify(sim.snapshot())


@bp.route("/api/v1/sim/rex", methods=["POST"])
def api_rex():
    """Press and release the exit button."""
    sim = simulator()
    sim.press_rex()
    return jsonify(sim.snapshot())


@bp.route("/api/v1/sim/wiegand", methods=["POST"])
def api_wiegand():
    """`{"bits"}`, `{"format", "facility", "card"}` or `{"keys"}`: pulses through the decoder."""
    body, sim = json_body(), simulator()
    if "bits" in body:
        sim.wiegand(body["bits"])
    elif "keys" in body:
        sim.keys(body["keys"])
    elif "format" in body or "card" in body:
        sim.card(body.get("format"), body.get("facility"), body.get("card"))
    else:
        raise Invalid({"bits": 'Send "bits", "format" with "facility" and "card", or "keys".'})
    return jsonify({"reads": list(sim.reads)[:1]})


@bp.route("/api/v1/sim/button", methods=["POST"])
def api_button():
    """`{"seconds": held}`: press the control button."""
    body = json_body() if request.content_length else {}
    simulator().press_button(body.get("seconds", 0.5))
    return jsonify({"pressed": body.get("seconds", 0.5)})


@bp.route("/api/v1/sim/motion", methods=["POST"])
def api_motion():
    """`{"g": jolt}`: shake the simulated controller (device motion)."""
    body = json_body() if request.content_length else {}
    simulator().shake(body.get("g", 1.0))
    return jsonify({"shaken": body.get("g", 1.0)})
