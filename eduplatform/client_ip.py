"""The client's address, believing X-Forwarded-For only as far as our own proxies.

Every throttle and log line keys on this. Without trusted proxies the header is
ignored: anyone can send it, and a new value per request would otherwise be a
new throttle bucket per password guess. Kept free of Django so gunicorn's
access log (eduplatform/gunicorn_conf.py) uses the same rule before Django is loaded.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    """Either how many proxies stand in front of us, or the networks they live in."""

    count: int = 0
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, value: str) -> TrustedProxies:
        """`""` (none, the default), a count such as `"1"`, or CIDRs `"10.0.0.0/8,::1"`."""
        value = (value or "").strip()
        if not value:
            return cls()
        if value.isdigit():
            return cls(count=int(value))
        return cls(
            networks=tuple(
                ipaddress.ip_network(part.strip(), strict=False)
                for part in value.split(",")
                if part.strip()
            )
        )

    def trusts(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def client_ip(remote_addr: str, forwarded_for: str | None, trusted: TrustedProxies) -> str:
    """The address that the nearest untrusted hop connected from.

    With a count N, the proxies appended N addresses to X-Forwarded-For and the
    N-th from the right is the client (what the outermost proxy saw); anything
    left of it is whatever the client chose to send. With networks, hops are
    peeled from the right while they are our proxies. A malformed hop, or a
    header shorter than the count, falls back to the connection's own address.
    """
    remote_addr = (remote_addr or "").strip()
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    if trusted.count:
        if len(hops) < trusted.count:
            return remote_addr
        chosen = hops[-trusted.count]
        return str(_ip(chosen)) if _ip(chosen) else remote_addr
    if not trusted.networks or not trusted.trusts(remote_addr):
        return remote_addr
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            return remote_addr
        if not trusted.trusts(hop):
            return str(ip)
    # Every hop is one of ours (a health check from inside): the first one.
    return str(_ip(hops[0])) if hops else remote_addr
