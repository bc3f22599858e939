"""TLS handshakes off the hub: the key exchange and signature run on the threadpool.

A full handshake costs the server an ECDHE key pair and an ECDSA signature, a few
milliseconds of OpenSSL on a Raspberry Pi, in one call. gevent makes that call on the
hub, so clients that connect at once (a browser opens several connections, a scanner
many) keep a due reader poll waiting for all of their handshakes. OpenSSL lets go of
the GIL while it computes: on a thread, the hub goes on meanwhile. Waiting for the
client's next flight stays on the hub, as in gevent.
"""

from __future__ import annotations

from ssl import SSLWantReadError, SSLWantWriteError

from gevent import ssl as gevent_ssl

from doorctl.core.waiting import computed


class HandshakeOffHub(gevent_ssl.SSLSocket):
    """gevent's TLS socket whose handshake steps compute on the hub's threadpool."""

    def do_handshake(self):
        """Perform the TLS handshake; each step's computation off the hub."""
        self._check_connected()
        while True:
            try:
                computed(self._sslobj.do_handshake)
                return
            except SSLWantReadError:
                if self.timeout == 0.0:
                    raise
                self._wait(self._read_event, timeout_exc=gevent_ssl._SSLErrorHandshakeTimeout())
            except SSLWantWriteError:
                if self.timeout == 0.0:
                    raise
                self._wait(self._write_event, timeout_exc=gevent_ssl._SSLErrorHandshakeTimeout())
