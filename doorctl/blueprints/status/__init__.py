"""Status: device info and the live cards of the Status page."""
