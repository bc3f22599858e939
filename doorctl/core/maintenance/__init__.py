"""Maintenance (manual: Maintenance): restart, restore, factory default, backup of
the configuration, and firmware upgrade and rollback."""
