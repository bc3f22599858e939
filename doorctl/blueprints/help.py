"""Help: what each section of the interface does, served by the device itself."""

from __future__ import annotations

from flask import Blueprint

from doorctl.blueprints.common import allow, render

bp = Blueprint("help", __name__)


@bp.route("/help")
@allow("viewer")
def page():
    """The product help (the appliance often has no internet, so it is local)."""
    return render("help/page.html")
