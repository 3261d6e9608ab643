"""Which Host names an HTTP server answers: the DNS-rebinding defence.

A page on another site that resolves its own name to this machine's address can
reach the server from the visitor's browser, but every request it makes carries the
attacker's name as ``Host``; an IP literal, a loopback name, the configured host or
this machine's own names cannot be such a page.
"""

from __future__ import annotations

import ipaddress
import socket


def is_loopback_host(host: str) -> bool:
    """True when ``host`` names only the loopback interface (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_without_port(host: str) -> str:
    """``[::1]:8000`` -> ``::1``, ``localhost:8000`` -> ``localhost``."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which ``Host`` header values a server answers.

    Bound to loopback: loopback names only (and the bound name). Bound to a network
    address: any IP literal (a DNS-rebinding page always arrives under its own
    name), the bound name, this machine's names and ``extra`` names.
    """

    def __init__(self, bind_host: str, extra: tuple[str, ...] = ()) -> None:
        self.loopback_only = is_loopback_host(bind_host)
        names = {bind_host.lower(), *(name.lower() for name in extra)}
        if not self.loopback_only:
            hostname = socket.gethostname().lower()
            names |= {hostname, f"{hostname}.local", socket.getfqdn().lower()}
        self.names = frozenset(name for name in names if name)

    def allows(self, host_header: str | None) -> bool:
        if host_header is None:
            # Browsers always send Host, so a rebinding page always has one; HTTP/1.0
            # tools (curl -0, scripts) may not, and are no rebinding risk.
            return True
        host = host_without_port(host_header).lower().rstrip(".")
        if is_loopback_host(host) or host in self.names:
            return True
        return not self.loopback_only and _is_ip_literal(host)
