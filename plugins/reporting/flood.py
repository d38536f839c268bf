"""How many anonymous reports each address has sent today, so that a flood of false reports from one
place cannot bury the real ones or flood moderators' inboxes (service.create_report marks the ones
past the `reports_per_address` setting; they are still taken, never refused).

Counted in this web process's memory only, never in the database: an anonymous reporter's address
must not be stored anywhere a seized or copied database could show it, not even as a keyed hash
(core.throttle's table would keep "this address sent two reports today" until the day ends). The
key that hashes addresses here is random for each process and never leaves it. The price: each web
process counts on its own (with three gunicorn workers, a flood may send up to three times the
setting before it is marked), and a restart starts the day's counts again.

An IPv6 address is counted by its /64 network, which one home or phone is given whole.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import secrets
import threading

from core.per_app import per_app

EXTENSION = "redumbrella.reporting.flood"
MOST_ADDRESSES = 20_000  # a day's counts in a few MiB at most; past it the day starts again


class AddressCounts:
    def __init__(self):
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._day: datetime.date | None = None
        self._counts: dict[bytes, int] = {}

    def hit(self, address: str | None, today: datetime.date) -> int:
        """Count one report from this address today; return how many it has sent today, this one included."""
        key = hmac.new(self._key, _network(address).encode(), hashlib.sha256).digest()[:16]
        with self._lock:
            if self._day != today or len(self._counts) >= MOST_ADDRESSES:
                self._day, self._counts = today, {}
            count = self._counts[key] = self._counts.get(key, 0) + 1
        return count


def counts(app=None) -> AddressCounts:
    return per_app(EXTENSION, AddressCounts, app)


def _network(address: str | None) -> str:
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:198.51.100.7 is 198.51.100.7
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
