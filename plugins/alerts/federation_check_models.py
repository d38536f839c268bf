"""Tables of the cross-instance check and the shared warning list (migration 0009_federation_check).

- PeerToken: a peer's published tokens (core.federation.oprf): for each identifier of each alert
  the peer shares with us, a keyed pseudo-random string that says nothing without the peer's key,
  with the alert's origin and uid (to link our received copy). Replaced whole on every refresh.
- PeerTokenState: when each peer's tokens were last fetched, and how many.
- PeerCheckWarning: staff are told when a peer asks for many evaluations in one day (a peer cannot
  be watched for similar numbers, as a member's checks are: its questions are blinded).
- WarningEntry: numbers (and e-mails, plates, names, websites) that never match in a check:
  helplines, the police, emergency numbers, the group's own. Our own entries (source_peer_id
  NULL) are shared with peers when `shared`; a peer's arrive "proposed" and apply only once an
  admin adopts them, so a hostile peer cannot silence a warning by listing its number.

Peers are core's federation_peer rows, referred to by id (peers are never deleted, only removed).
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateField, DateTimeField, IntegerField

from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow

# WarningEntry statuses: applied in checks, offered by a peer and waiting for an admin, or set aside.
ACTIVE, PROPOSED, DISMISSED = "active", "proposed", "dismissed"


class PeerToken(BaseModel):
    peer_id = IntegerField(index=True)
    token = CharField(max_length=64, index=True)
    origin = CharField(max_length=24)  # the fingerprint of the instance the alert comes from
    uid = CharField(max_length=40)  # the alert's uid in the federation feed

    class Meta:
        table_name = "alerts_peer_token"


class PeerTokenState(BaseModel):
    peer_id = IntegerField(unique=True)
    fetched_at = DateTimeField(default=utcnow)
    count = IntegerField(default=0)
    batch = IntegerField(default=8)  # how many points the peer takes in one question

    class Meta:
        table_name = "alerts_peer_token_state"


class PeerCheckWarning(BaseModel):
    peer_id = IntegerField()
    day = DateField()
    count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = IntegerField(null=True)

    class Meta:
        table_name = "alerts_peer_check_warning"
        indexes = ((("peer_id", "day"), True),)


class WarningEntry(BaseModel):
    kind = CharField(max_length=16)
    blind_index = CharField(max_length=64)
    display = EncryptedTextField()  # the normalised value, as the alerts' identifiers keep it
    label = CharField(max_length=120, default="")  # "Samaritans", "Police (non-emergency)"
    shared = BooleanField(default=True)  # ours only: offered to peers
    source_peer_id = IntegerField(null=True, index=True)  # None: ours
    status = CharField(max_length=12, default=ACTIVE)
    added_at = DateTimeField(default=utcnow)
    added_by = IntegerField(null=True)
    decided_by = IntegerField(null=True)  # who adopted or dismissed a peer's entry
    decided_at = DateTimeField(null=True)

    class Meta:
        table_name = "alerts_warning_entry"
        indexes = ((("kind", "blind_index"), False),)


MODELS = [PeerToken, PeerTokenState, PeerCheckWarning, WarningEntry]
