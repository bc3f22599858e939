"""DOORCTL-MIB for download (System > SNMP links to it): the MIB module of doorctl's objects
and notifications, for the management station that reads them."""

from __future__ import annotations

from flask import Blueprint, Response

from doorctl.blueprints.common import allow
from doorctl.core.system.snmp import mib

bp = Blueprint("snmp_mib", __name__)


def _mib():
    """The MIB module as a text file to save, named as net-snmp looks it up."""
    disposition = f"attachment; filename={mib.MODULE_NAME}.txt"
    return Response(
        mib.MIB_FILE.read_bytes(),
        mimetype="text/plain",
        headers={"Content-Disposition": disposition},
    )


@bp.route("/system/snmp/DOORCTL-MIB.txt")
@allow("viewer")
def download():
    """The MIB module, linked from the SNMP page."""
    return _mib()


@bp.route("/api/v1/snmp/mib")
@allow("viewer")
def api_mib():
    """The MIB module of doorctl's objects and notifications."""
    return _mib()
