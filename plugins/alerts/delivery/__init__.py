"""Delivery through an outbox: every message is a row before it is anything else.

Publishing an alert writes one Delivery row per recipient and channel (unique idempotency key)
in the same transaction as the publication, then, once committed, asks the queue to drain the
outbox. Queue tasks carry a channel name or nothing: never an address or a text.

A drain claims a few rows (status "sending", claimed_by = host:pid:start:thread), sends them one
by one over one open connection, and commits each row as "sent" the moment the server accepted
it, before handing over the next. If the worker is killed, its claimed rows stay "sending"; the
sweep (a periodic task that also runs as soon as a worker starts) sees that the claiming process
is gone and puts them back to "pending". Only the one message that was being handed over at the
instant of death can be sent twice: at most one repeat per worker.

Failures are retried with exponential back-off (retry_seconds × 2^attempts, at most six hours)
up to max_attempts; then the row is "failed" and staff see it on the deliveries page.

One module per job; the rest of the plugin uses the names below (`delivery.kick(due)`):

- fan_out.py: who an alert reaches (recipients, audience) and the rows written for them;
- outbox.py: claiming and releasing rows, and recording what became of each;
- dispatch.py: drain, kick and the sweep;
- sender.py: the Sender, over core.mail.MailSession for e-mail and the send_sms hook for texts;
- compose.py: the words of each message; digests.py: daily digests;
- overview.py: what staff see (counts, problems, retrying the failed).
"""

from plugins.alerts.delivery.compose import compose, kind_line
from plugins.alerts.delivery.digests import build_digests, digest_counts, digest_lines, local_now
from plugins.alerts.delivery.dispatch import drain, due_channels, kick, sweep
from plugins.alerts.delivery.fan_out import (
    audience,
    cancel_for_alert,
    fan_out,
    fan_out_correction,
    fan_out_withdrawal,
    reached,
    recipients,
)
from plugins.alerts.delivery.outbox import CLAIM_BATCH, claim, release_dead_claims
from plugins.alerts.delivery.overview import problems, retry_failed, stats
from plugins.alerts.delivery.sender import Sender

__all__ = [
    "CLAIM_BATCH", "Sender", "audience", "build_digests", "cancel_for_alert", "claim", "compose", "digest_counts",
    "digest_lines", "drain", "due_channels", "fan_out", "fan_out_correction", "fan_out_withdrawal", "kick",
    "kind_line", "local_now", "problems", "reached", "recipients", "release_dead_claims", "retry_failed", "stats",
    "sweep",
]
