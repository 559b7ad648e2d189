"""Where a webhook may be sent: the SSRF guard, at creation and again at every delivery.

`https` only, and every address the host resolves to must be public (not private, loopback,
link-local, shared, multicast, reserved or unspecified), so an endpoint cannot make the platform
call into its own network. The setting `WEBHOOK_ALLOW_PRIVATE` (on under `make run` and in the
tests, off in production) lifts both rules, for receivers on 127.0.0.1.

Checking the name is not enough on its own: a name may resolve to a public address for the check
and to a private one a moment later, when the HTTP client resolves it again (DNS rebinding). So
deliveries go through `guarded_session()`, whose connections check the address they actually
reached before a byte is sent.

A POST may also be cut from another thread (`Watch`): the batch cuts what is still unanswered at
its deadline, since a receiver trickling its answer a byte at a time, each within the read
timeout, would otherwise hold the posting thread for ever.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from core.exceptions import InvalidInput


class UnsafeUrl(InvalidInput):
    code = "unsafe_url"


def _refuse(message: str) -> UnsafeUrl:
    return UnsafeUrl(message, fields={"url": [message]})


# IPv6 prefixes whose addresses carry an IPv4 one in their last 32 bits, reached through a
# translator (NAT64, RFC 6052 and 8215) or, IPv4-compatible ones, by the old tunnels.
_IPV4_INSIDE = [
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(ip, ipaddress.IPv6Address):
        inside = ip.ipv4_mapped or ip.sixtofour
        if inside is None and any(ip in net for net in _IPV4_INSIDE):
            inside = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inside is not None and not _public(str(inside)):
            return False  # the IPv4 address it leads to is not a public one
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def url_check(url: str) -> None:
    """Raise UnsafeUrl (a 400 with the field in words) unless `url` may receive webhooks."""
    parts = urlsplit(url)
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes:
        raise _refuse("Webhook URLs must use https.")
    if not parts.hostname:
        raise _refuse("The URL names no host.")
    if parts.username or parts.password:
        raise _refuse("The URL may not carry a user name or password.")
    if allow_private:
        return
    try:
        port = parts.port or 443
        addresses = resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError):
        raise _refuse(f"The host {parts.hostname} does not resolve.") from None
    if not addresses:
        raise _refuse(f"The host {parts.hostname} does not resolve.")
    private = [a for a in addresses if not _public(a)]
    if private:
        raise _refuse(
            f"The host {parts.hostname} resolves to a private, loopback, link-local or reserved "
            f"address ({', '.join(private)}); webhooks go to public addresses only."
        )


# --- At delivery: the address actually connected to ---


class PrivatePeer(NewConnectionError):
    """The connection reached an address webhooks may not go to (the name resolved elsewhere
    than at the check)."""

    @property
    def message(self) -> str:
        return self._message


class Watch:
    """One POST that another thread may cut: `cut()` shuts the socket of the connection it is
    using down, so that the posting thread's blocked send or read ends at once. (Connecting
    and the TLS handshake need no cut: each is bounded as a whole by the timeout.)"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: HTTPConnection | None = None
        self.cut_off = False
        self.outcome: object | None = None  # what the poster learnt before the cut, if anything

    def attach(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conn = conn
        if self.cut_off:
            self._shut()

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def settle(self, outcome: object) -> bool:
        """Keep what the poster learnt, unless it was cut first (a cut connection's answer
        is no answer: its headers end where the cut ended them)."""
        with self._lock:
            if self.cut_off:
                return False
            self.outcome = outcome
            return True

    def cut(self) -> None:
        with self._lock:
            self.cut_off = True
        self._shut()

    def _shut(self) -> None:
        with self._lock:
            sock = self._conn.sock if self._conn is not None else None
            if sock is not None:  # the socket itself, under TLS too (not the TLS close)
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


_watching = threading.local()


@contextlib.contextmanager
def watched(watch: Watch) -> Iterator[None]:
    """The connections this thread uses within the block are cut by `watch.cut()`."""
    _watching.current = watch
    try:
        yield
    finally:
        _watching.current = None
        watch.detach()


def _watch_attach(conn: HTTPConnection) -> None:
    watch: Watch | None = getattr(_watching, "current", None)
    if watch is not None:
        watch.attach(conn)


def _peer_check(conn: HTTPConnection, sock: socket.socket) -> None:
    watch: Watch | None = getattr(_watching, "current", None)
    if watch is not None and watch.cut_off:  # cut while connecting: go no further
        sock.close()
        raise NewConnectionError(conn, "Cut off at the deadline.")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    address = str(sock.getpeername()[0])
    if not _public(address):
        sock.close()
        raise PrivatePeer(
            conn,
            f"The host {conn.host} led to {address}, a private, loopback, link-local or reserved "
            "address; webhooks go to public addresses only.",
        )


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _peer_check(self, sock)
        return sock

    def connect(self) -> None:
        _watch_attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_attach(self)  # a kept-alive connection: already connected
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:  # before the TLS handshake: nothing sent yet
        sock = super()._new_conn()
        _peer_check(self, sock)
        return sock

    def connect(self) -> None:
        _watch_attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_attach(self)
        super().request(*args, **kwargs)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_session(pool_size: int = 10) -> requests.Session:
    """A requests session for webhook POSTs: every new connection's peer is checked, and no
    proxy from the environment is used (the check must see the receiver itself)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
