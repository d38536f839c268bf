"""Federation tables (core migration 0090_federation).

- Peer: another Red Umbrella instance this one exchanges with. Nothing flows until both sides
  have added each other; a removed peer keeps its row (received alerts keep their provenance),
  with removed_at set, and nothing is accepted from it or sent to it any more.
- SharingGroup, SharingGroupMember: named groups of peers ("North of England groups"), an alert's
  distribution can be one of them.
- FeedItem: this instance's signed feed. One row per shared thing (uid), holding only its latest
  signed version: a correction replaces body, signature and version; a withdrawal replaces them
  with a signed tombstone. Rows whose origin is another instance are things received with
  "may pass on" that a moderator chose to pass on: their body and signature are the origin's,
  untouched.
- Received: what came from peers, one row per (origin, uid), with the highest version accepted:
  an older or equal version is a replay and is refused.
- PushMessage: the urgent-push outbox (one row per item and peer), sent by the queue with retries.
- RetiredKey: fingerprints of replaced signing keys, whose items are refused from then on.
- SeenNonce: nonces of signed requests seen in the last minutes, so a captured request cannot be
  played again while its timestamp is still fresh.

Bodies are what members see of an alert; they are encrypted at rest like webhook payloads.
"""

from __future__ import annotations

import json

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


class Peer(BaseModel):
    name = CharField(max_length=60, unique=True)  # this instance's name for the peer (local)
    base_url = TextField()  # "https://umbrella.example.org", no trailing slash
    public_key = CharField(max_length=64)  # base64 of the raw Ed25519 public key
    fingerprint = CharField(max_length=24, index=True)  # core.federation.identity.fingerprint
    auto_publish = BooleanField(default=False)  # publish what it sends at once, or hold for review
    region_map = TextField(default="{}")  # JSON {"their code": "our code"}
    added_at = DateTimeField(default=utcnow)
    added_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    removed_at = DateTimeField(null=True)
    last_pull_at = DateTimeField(null=True)
    last_ok_at = DateTimeField(null=True)
    last_error = CharField(max_length=80, null=True)  # "HTTP 401", "ConnectionRefusedError"

    class Meta:
        table_name = "federation_peer"

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def regions(self) -> dict[str, str]:
        try:
            value = json.loads(self.region_map or "{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def target(self) -> str:
        return f"peer:{self.id}"


class SharingGroup(BaseModel):
    name = CharField(max_length=60, unique=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "federation_group"

    def target(self) -> str:
        return f"sharing_group:{self.id}"


class SharingGroupMember(BaseModel):
    group = ForeignKeyField(SharingGroup, on_delete="CASCADE", backref="members")
    peer = ForeignKeyField(Peer, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "federation_group_member"
        indexes = ((("group", "peer"), True),)


class FeedItem(BaseModel):
    uid = CharField(max_length=40)  # random, given when first shared; the same for every version
    origin_fingerprint = CharField(max_length=24)  # ours, or the origin's for what is passed on
    kind = CharField(max_length=32)  # "alert": which plugin's FederatedKind it is
    local_ref = CharField(max_length=64, null=True)  # the owner's id for it (an alert id)
    version = IntegerField(default=1)
    tombstone = BooleanField(default=False)
    distribution = CharField(max_length=80)  # "peers" or "group:NAME": who this instance serves it to
    may_pass_on = BooleanField(default=False)
    urgent = BooleanField(default=False)
    body = EncryptedTextField()  # canonical JSON of the signed item
    signature = CharField(max_length=120)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "federation_item"
        indexes = ((("origin_fingerprint", "uid"), True), (("kind", "local_ref"), False))


class Received(BaseModel):
    peer = ForeignKeyField(Peer, on_delete="CASCADE", backref="+")  # the peer it came through
    origin_fingerprint = CharField(max_length=24)
    origin_name = CharField(max_length=120)
    uid = CharField(max_length=40)
    kind = CharField(max_length=32)
    version = IntegerField()
    tombstone = BooleanField(default=False)
    may_pass_on = BooleanField(default=False)
    body = EncryptedTextField()
    signature = CharField(max_length=120)
    local_ref = CharField(max_length=64, null=True)  # the local copy (an alert id) its plugin made
    received_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "federation_received"
        indexes = ((("origin_fingerprint", "uid"), True), (("kind", "local_ref"), False))


class PushMessage(BaseModel):
    peer = ForeignKeyField(Peer, on_delete="CASCADE", backref="+")
    item = ForeignKeyField(FeedItem, on_delete="CASCADE", backref="+")
    version = IntegerField()  # the version this push was written for (a newer one is sent if any)
    status = CharField(max_length=12, default=PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    claimed_by = CharField(max_length=96, null=True)
    claimed_at = DateTimeField(null=True)
    last_status = IntegerField(null=True)
    last_error = CharField(max_length=80, null=True)
    last_attempt_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    delivered_at = DateTimeField(null=True)

    class Meta:
        table_name = "federation_push"
        indexes = ((("status", "next_attempt_at"), False), (("item", "peer", "version"), True))


class RetiredKey(BaseModel):
    """A signing key that was replaced (core migration 0091): a peer's, or ours (peer None)."""

    fingerprint = CharField(max_length=24, unique=True)
    peer = ForeignKeyField(Peer, null=True, on_delete="SET NULL", backref="+")
    retired_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "federation_retired_key"


class SeenNonce(BaseModel):
    nonce = CharField(max_length=64, unique=True)  # sender fingerprint + ":" + its nonce
    seen_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "federation_nonce"
