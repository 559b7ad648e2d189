"""Where a webhook may be sent: the SSRF guard, at creation and again at every delivery.

`https` only, and every address the host resolves to must be public (not private, loopback,
link-local, shared, multicast, reserved or unspecified), so an endpoint cannot make the platform
call into its own network. The setting `WEBHOOK_ALLOW_PRIVATE` (on under `make run` and in the
tests, off in production) lifts both rules, for receivers on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from core.exceptions import InvalidInput


class UnsafeUrl(InvalidInput):
    code = "unsafe_url"


def _refuse(message: str) -> UnsafeUrl:
    return UnsafeUrl(message, fields={"url": [message]})


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
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
