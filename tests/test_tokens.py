"""core.tokens: one way to make random tokens, store only their hash and check them (issue 13).

The hashes are computed here with hashlib and hmac directly, as the code before core.tokens
stored them, so a token made before keeps working: an access token and a feed token (SHA-256),
a set-password link and an enrolment code (HMAC-SHA256 under the blind-index key).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re

from helpers import enable

from core.db import connection, utcnow
from core.tokens import hash_token, new_token, verify

BLIND_INDEX_KEY = b"test-blind-index-key"  # tests/conftest.py's base_overrides


def old_plain_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def old_keyed_hash(kind: str, token: str) -> str:
    return hmac.new(BLIND_INDEX_KEY, f"{kind}:{token}".encode(), hashlib.sha256).hexdigest()


def test_new_tokens_are_random_url_safe_and_carry_their_prefix():
    made = {new_token("ru_") for _ in range(50)}
    assert len(made) == 50
    assert all(re.fullmatch(r"ru_[A-Za-z0-9_-]{43}", token) for token in made)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", new_token(nbytes=24))


def test_the_two_hashes_are_the_ones_rows_were_stored_with(app):
    token = "ru_" + "x" * 43
    assert hash_token(token) == old_plain_hash(token)
    with app.app_context():
        assert hash_token(token, "one-time-link") == old_keyed_hash("one-time-link", token)
        assert hash_token(token, "training-check-in") != hash_token(token, "one-time-link")


def test_verify_compares_the_hash_and_refuses_what_is_missing(app):
    token = new_token()
    assert verify(token, old_plain_hash(token))
    assert not verify(token + "x", old_plain_hash(token))
    assert not verify("", old_plain_hash(""))
    assert not verify(None, old_plain_hash(token)) and not verify(token, None) and not verify(token, "")
    with app.app_context():
        stored = old_keyed_hash("training-enrolment-code", "abcd12")
        assert verify("abcd12", stored, "training-enrolment-code")
        assert not verify("abcd12", stored) and not verify("abcd12", stored, "one-time-link")


def test_an_access_token_made_before_still_signs_in(app, make_user):
    from core.accounts.tokens import AccessToken

    user = make_user("partner")
    old = "ru_" + "Aa0_-" * 8 + "Zz9"
    with app.app_context(), connection():
        AccessToken.create(user=user.id, token_hash=old_plain_hash(old))
    answer = app.test_client().get("/api/v1/account", headers={"Authorization": f"Bearer {old}"})
    assert answer.status_code == 200 and answer.get_json()["id"] == user.id
    refused = app.test_client().get("/api/v1/account", headers={"Authorization": f"Bearer {old[:-1]}Y"})
    assert refused.status_code == 401


def test_a_set_password_link_made_before_still_opens(app, make_user):
    from core.accounts.invitations import PasswordLink

    user = make_user("member")
    raw = "b" * 43
    with app.app_context(), connection():
        PasswordLink.create(user=user.id, token_hash=old_keyed_hash("one-time-link", raw),
                            expires_at=utcnow() + datetime.timedelta(hours=1))
    assert app.test_client().get(f"/account/set-password/{raw}").status_code == 200
    assert app.test_client().get(f"/account/set-password/{'c' * 43}").status_code == 404


def test_a_partner_feed_token_made_before_still_reads_the_feed(app):
    from plugins.alerts.models import FeedToken

    enable(app, "reporting", "alerts")
    old = "ruf_" + "d" * 43
    with app.app_context(), connection():
        FeedToken.create(label="Partner", token_hash=old_plain_hash(old))
    client = app.test_client()
    assert client.get(f"/api/v1/feeds/alerts.atom?token={old}").status_code == 200
    assert client.get(f"/api/v1/feeds/alerts.atom?token={old[:-1]}e").status_code == 401
