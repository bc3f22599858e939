"""Date and time (System > Date and time, Status > Time sync): settings, chrony, service."""
