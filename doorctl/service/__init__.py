"""doorctl as a systemd service: the unit and the polkit rule rendered from this package,
and `doorctl install-service` / `uninstall-service` that put them in place."""
