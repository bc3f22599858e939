"""System > Network (manual): HTTP and HTTPS, and the connected clients."""
