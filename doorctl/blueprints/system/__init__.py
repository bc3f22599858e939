"""System: users, MQTT, and the date and time, network and security sections to come."""
