"""Text messages: the `send_sms` hook, with two backends built in.

REDUMBRELLA_SMS_BACKEND chooses:
- "http": a real gateway. A form POST (To, From, Body) with HTTP Basic credentials to
  REDUMBRELLA_SMS_GATEWAY_URL, the shape Twilio's Messages API takes
  (https://api.twilio.com/2010-04-01/Accounts/<sid>/Messages.json, user = account SID,
  password = auth token) and many gateways copy. The idempotency key goes in the
  `I-Twilio-Idempotency-Token` and `Idempotency-Key` headers, so a gateway that honours it
  drops a repeat.
- "file": development. One JSON line per message in instance/sms/outbox.jsonl.
- anything else: another plugin's send_sms implementation handles it (or nothing does, and the
  delivery fails with NoSmsBackend, visible to staff).

check_config() checks these settings at start-up (the check_config hook), so a wrong one stops
the platform with one line instead of failing the first text message.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from core.mail import PermanentFailure, TemporaryFailure

BUILT_IN = ("http", "file")
TEST_GATEWAY_HOSTS = ("127.0.0.1", "localhost", "::1")  # the only hosts plain http:// may reach


def backend(app) -> str:
    return str(app.config.get("SMS_BACKEND", "") or "").strip().lower()


def configured(app) -> bool:
    """Whether SMS can be offered to subscribers on this instance."""
    name = backend(app)
    if name == "http":
        return bool(app.config.get("SMS_GATEWAY_URL"))
    return bool(name)


def check_config(app) -> None:
    """Raise core.config.ConfigError, one line naming the setting, when the SMS settings cannot work.

    Empty (no SMS) and "file" need nothing more. Another name must be one a plugin besides this
    one could send with: the send_sms hook cannot be asked whether it knows a name without sending,
    so any name is accepted once some other installed plugin implements it. "http" is checked in
    full; SMS_GATEWAY_TIMEOUT is stored as a number of seconds.
    """
    from core.config import ENV_PREFIX, ConfigError

    config = app.config
    name = backend(app)
    if name in ("", "file"):
        return
    if name != "http":
        if not _other_senders(app):
            raise ConfigError(f"{ENV_PREFIX}_SMS_BACKEND must be http, file, or a backend an installed plugin "
                              f"sends with (no installed plugin sends text messages), not {name!r}")
        return
    url = str(config.get("SMS_GATEWAY_URL") or "").strip()
    if not url:
        raise ConfigError(f"{ENV_PREFIX}_SMS_GATEWAY_URL must be set when {ENV_PREFIX}_SMS_BACKEND is http")
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port  # a malformed port raises here
    except ValueError:
        host, parts = None, None
    local_test = parts is not None and parts.scheme == "http" and host in TEST_GATEWAY_HOSTS
    if not host or not (parts.scheme == "https" or local_test):
        # The URL itself is not repeated: it may carry credentials.
        raise ConfigError(f"{ENV_PREFIX}_SMS_GATEWAY_URL must be a full address starting with https:// "
                          "(http:// only for a test gateway on 127.0.0.1 or localhost)")
    if bool(config.get("SMS_GATEWAY_USERNAME")) != bool(config.get("SMS_GATEWAY_PASSWORD")):
        raise ConfigError(f"{ENV_PREFIX}_SMS_GATEWAY_USERNAME and {ENV_PREFIX}_SMS_GATEWAY_PASSWORD must both be "
                          "set, or both be empty")
    if not str(config.get("SMS_SENDER") or "").strip():
        raise ConfigError(f"{ENV_PREFIX}_SMS_SENDER must be set when {ENV_PREFIX}_SMS_BACKEND is http: the number or "
                          "name text messages come from")
    timeout = config.get("SMS_GATEWAY_TIMEOUT")
    try:
        seconds = 10.0 if timeout is None or str(timeout).strip() == "" else float(timeout)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(timeout, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{ENV_PREFIX}_SMS_GATEWAY_TIMEOUT must be a positive number of seconds, not {timeout!r}")
    config["SMS_GATEWAY_TIMEOUT"] = seconds


def _other_senders(app) -> bool:
    """Whether an installed plugin other than this one implements send_sms."""
    from core.plugins import get_registry

    return any(impl.plugin_name != "alerts" for impl in get_registry(app).pm.hook.send_sms.get_hookimpls())


def send_built_in(app, name: str, to: str, body: str, key: str) -> str | None:
    if name == "file":
        return _send_file(app, to, body, key)
    if name == "http":
        return _send_http(app, to, body, key)
    return None


def _send_file(app, to: str, body: str, key: str) -> str:
    folder = Path(app.instance_path) / "sms"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "outbox.jsonl"
    line = json.dumps({"to": to, "body": body, "key": key,
                       "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return "file"


def _send_http(app, to: str, body: str, key: str) -> str:
    config = app.config
    url = str(config.get("SMS_GATEWAY_URL") or "")
    if not url.startswith(("https://", "http://")):
        raise PermanentFailure("SmsGatewayNotConfigured")
    form = urllib.parse.urlencode({"To": to, "From": config.get("SMS_SENDER", "") or "", "Body": body}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Idempotency-Key": key,
        "I-Twilio-Idempotency-Token": key,
        "User-Agent": "redumbrella-alerts",
    }
    username = config.get("SMS_GATEWAY_USERNAME") or ""
    if username:
        secret = f"{username}:{config.get('SMS_GATEWAY_PASSWORD') or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")
    request = urllib.request.Request(url, data=form, headers=headers, method="POST")  # noqa: S310 - configured URL
    timeout = float(config.get("SMS_GATEWAY_TIMEOUT", 10) or 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310  # http(s) only, checked above
            payload = response.read(65536)
    except urllib.error.HTTPError as exc:
        if exc.code in (408, 429) or exc.code >= 500:
            raise TemporaryFailure(f"SmsGateway:{exc.code}") from None
        raise PermanentFailure(f"SmsGateway:{exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise TemporaryFailure(f"SmsGateway:{type(exc).__name__}") from None
    try:
        answer = json.loads(payload or b"{}")
    except ValueError:
        answer = {}
    return str(answer.get("sid") or answer.get("id") or "sent") if isinstance(answer, dict) else "sent"
