"""Access control: doors, cardholders, credentials, schedules, rules, alarms, readers."""
