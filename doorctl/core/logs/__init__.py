"""Logs: the event log, the access log and the audit trail."""
