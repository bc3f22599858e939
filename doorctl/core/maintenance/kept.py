"""What stays on the unit when most of it is reset (manual: Maintenance > Restore).

The manual keeps the network settings so that the installer can still reach the
device afterwards; a restored backup may keep them too. Each entry is a settings
section name; the System > Network sections add theirs here as they come.
"""

from flask_babel import lazy_gettext

from doorctl.core.system.network.http_https import SECTION as HTTP_HTTPS
from doorctl.core.system.network.ip_form import SECTION as IP_SETTINGS
from doorctl.core.system.security.dot1x_form import SECTION as IEEE_8021X

NETWORK_SECTIONS: tuple[str, ...] = (HTTP_HTTPS, IP_SETTINGS, IEEE_8021X)
"""Settings sections that reach the unit over the network: HTTP and HTTPS ports and
which of the two serve; the IP settings (addresses, router, hostname, DNS); IEEE 802.1X
(without it an 802.1X port stays shut)."""

NETWORK_WORDS = {
    HTTP_HTTPS: lazy_gettext("HTTP and HTTPS: which of them serve, their ports, the certificate"),
    IP_SETTINGS: lazy_gettext("IP settings: addresses, router, hostname and DNS"),
    IEEE_8021X: lazy_gettext("IEEE 802.1x"),
}


def network_words() -> list[str]:
    """The kept network settings in the page's words, as the Maintenance and Backup
    pages list them."""
    return [str(NETWORK_WORDS[section]) for section in NETWORK_SECTIONS]
