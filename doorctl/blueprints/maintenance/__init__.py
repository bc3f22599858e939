"""Maintenance: restart and reset, configuration backup, firmware upgrade and rollback."""
