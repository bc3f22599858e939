"""What stays on the unit when most of it is reset (manual: Maintenance > Restore).

The manual keeps the network settings so that the installer can still reach the
device afterwards; a restored backup may keep them too. Each entry is a settings
section name; the System > Network sections add theirs here as they come.
"""

from doorctl.core.system.network.http_https import SECTION as HTTP_HTTPS
from doorctl.core.system.network.ip_form import SECTION as IP_SETTINGS

NETWORK_SECTIONS: tuple[str, ...] = (HTTP_HTTPS, IP_SETTINGS)
"""Settings sections that reach the unit over the network: HTTP and HTTPS ports and
which of the two serve; the IP settings (addresses, router, hostname, DNS)."""
