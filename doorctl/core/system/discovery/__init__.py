"""Network discovery protocols (System > Network): Bonjour, UPnP and WS-Discovery."""
