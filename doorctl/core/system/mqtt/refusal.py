"""Why a TLS broker turned doorctl away, in words, from the alert the broker sent.

A broker refuses with a TLS alert, and OpenSSL reports it as a phrase such as
"tlsv1 alert no application protocol" (Python often has no reason code for it).
When the alert arrives differs: in TLS 1.2 a broker that wants a client certificate
fails the handshake itself; in TLS 1.3 the client's handshake is complete before the
broker checks the certificate, so the alert arrives after doorctl has sent CONNECT.
By then the broker has closed its socket, the kernel answers the CONNECT with a
reset, and the reset discards the unread alert (about one time in two against
mosquitto 2.0.11): paho sees only a lost connection. So when a TLS connection is
lost before the broker's CONNACK, `listen()` opens a second connection that sends
nothing and reads what the broker says.
"""

from __future__ import annotations

import re
import socket
import ssl

LISTEN_SECONDS = 3.0
ALERT = re.compile(r"\balert ([a-z ]+)")
CERTIFICATE_REQUIRED = (
    "The broker requires a client certificate, and none is chosen in the MQTT client settings."
)
HANDSHAKE_REFUSED = (
    "The broker refused the TLS handshake; it most likely requires a client certificate, "
    "and none is chosen in the MQTT client settings."
)
ALERTS = {
    "certificate required": CERTIFICATE_REQUIRED,
    "unknown ca": "The broker does not trust the client certificate: it does not know its issuer.",
    "bad certificate": "The broker refused the client certificate.",
    "unsupported certificate": "The broker refused the client certificate.",
    "certificate unknown": "The broker refused the client certificate.",
    "certificate expired": "The broker refused the client certificate: it has expired.",
    "certificate revoked": "The broker refused the client certificate: it has been revoked.",
    "decrypt error": "The broker could not verify the client certificate's signature.",
    "access denied": "The broker denied access to this client certificate.",
    "protocol version": "The broker accepts neither TLS 1.2 nor TLS 1.3.",
}


def alert(error: ssl.SSLError) -> str | None:
    """The description of the TLS alert the broker sent ("unknown ca"), if it sent one."""
    text = f"{error.reason or ''} {error}".lower().replace("_", " ")
    found = ALERT.search(text)
    return found.group(1).strip() if found else None


def words(error: ssl.SSLError, settings: dict, client_certificate: bool) -> str | None:
    """What the broker's TLS alert means for this client's settings; None without an alert."""
    name = alert(error)
    if name is None:
        return None
    if name == "no application protocol":
        if settings["alpn"]:
            return (
                f"The broker refused the ALPN protocol {settings['alpn']!r} named in the "
                "settings; check the name your broker provider gives."
            )
        return "The broker requires an ALPN protocol; set the one your broker provider gives."
    if name == "handshake failure":
        if client_certificate:
            return "The broker refused the TLS handshake (handshake failure)."
        return HANDSHAKE_REFUSED
    return ALERTS.get(name, f"The broker ended the TLS connection with the alert {name!r}.")


def listen(context: ssl.SSLContext, host: str, port: int, timeout: float) -> ssl.SSLError | None:
    """Open a TLS connection, send nothing, and return the alert the broker answers with.

    Blocking: run it where open() runs the connection (see link.py).
    """
    wait = min(timeout, LISTEN_SECONDS)
    try:
        raw = socket.create_connection((host, port), wait)
        with raw, context.wrap_socket(raw, server_hostname=host) as tls:
            tls.recv(1)
    except ssl.SSLError as error:
        return error if alert(error) else None
    except (OSError, ValueError):
        return None
    return None


def refusal(context: ssl.SSLContext, settings: dict, client_certificate: bool) -> str | None:
    """Why the broker closed a fresh TLS connection, if it says so when asked again."""
    error = listen(context, settings["host"], settings["port"], settings["timeout"])
    return None if error is None else words(error, settings, client_certificate)
