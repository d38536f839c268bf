"""Shared pieces for the alerts tests: reports made directly in the reporting plugin's tables, a
real SMTP server (aiosmtpd) and a real HTTP server for the SMS gateway. No test lives here."""

from __future__ import annotations

import datetime
import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from core.accounts.models import User, UserRole
from core.crypto import keyring
from core.db import db, utcnow
from core.identifiers import normalise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_report(*, status="verified", share_alert=True, region="london", incident_types=("physical_assault",),
                phones=(), emails=(), plates=(), handles=(), names=None, description=None, vehicle=None,
                narrative="He would not pay and pushed me.", location=None, reporter=None, support_contact=None,
                occurred_on=None, withdrawn=False):
    """A report as the reporting plugin stores it, with one perpetrator and their identifiers."""
    from plugins.reporting.models import Consent, Perpetrator, PerpetratorIdentifier, Report

    report = Report.create(
        reference="R-" + secrets.token_hex(3).upper(),
        status=status,
        incident_types=",".join(incident_types),
        occurred_on=occurred_on or (datetime.date.today() - datetime.timedelta(days=3)),
        region=region,
        location=location,
        narrative=narrative,
        reporter=reporter,
        support_contact=support_contact,
        verified_at=utcnow() if status == "verified" else None,
    )
    person = Perpetrator.create(
        report=report,
        names=json.dumps(list(names or [])) if names else None,
        description=json.dumps(description) if description else None,
        vehicle=json.dumps(vehicle) if vehicle else None,
    )
    for kind, values in (("phone", phones), ("email", emails), ("plate", plates), ("handle", handles)):
        for value in values:
            normalised = normalise(kind, value, "GB")
            PerpetratorIdentifier.create(perpetrator=person, report=report, kind=kind,
                                         blind_index=keyring().blind_index(kind, normalised), display=normalised)
    if share_alert:
        Consent.create(report=report, purpose="share_alert", withdrawn_at=utcnow() if withdrawn else None)
    Consent.create(report=report, purpose="wants_support")
    return report


def make_subscribers(count: int, *, region="london", channels="email", frequency="immediate", locale=None,
                     role="member", start: int = 0, sms_number=None) -> list[int]:
    """Many subscribed members at once (bulk inserts: fast enough for thousands)."""
    from plugins.alerts.models import Subscription, SubscriptionRegion

    ids = []
    with db.atomic():
        for chunk_start in range(start, start + count, 500):
            rows = []
            for number in range(chunk_start, min(start + count, chunk_start + 500)):
                email = f"subscriber{number}@example.org"
                rows.append({"email_index": User.email_lookup(email), "email": email, "locale": locale,
                             "working_name": None, "active": True, "session_version": 0, "created_at": utcnow()})
            User.insert_many(rows).execute()
            emails = [User.email_lookup(f"subscriber{n}@example.org")
                      for n in range(chunk_start, min(start + count, chunk_start + 500))]
            chunk_ids = [u.id for u in User.select(User.id).where(User.email_index.in_(emails))]
            UserRole.insert_many([{"user": uid, "role": role} for uid in chunk_ids]).execute()
            Subscription.insert_many([{"user": uid, "channels": channels, "frequency": frequency,
                                       "all_regions": False, "sms_number": sms_number,
                                       "created_at": utcnow(), "changed_at": utcnow()} for uid in chunk_ids]).execute()
            subs = Subscription.select(Subscription.id).where(Subscription.user.in_(chunk_ids))
            SubscriptionRegion.insert_many([{"subscription": s.id, "region": region} for s in subs]).execute()
            ids.extend(chunk_ids)
    return ids


def mail_settings(server) -> dict:
    """App overrides for tests/smtp_server.SmtpServer, with links made for a neutral address."""
    return {**server.overrides, "BASE_URL": "https://notes.example.org"}


def message_ids(server) -> list[str]:
    return [message["Message-ID"] for message in server.messages]


def bodies(server) -> list[str]:
    return [message.get_content() for message in server.messages]


class GatewayServer:
    """A real HTTP server standing in for an SMS gateway: it records each form POST it gets."""

    def __init__(self, status: int = 201):
        self.requests: list[dict] = []
        self.status = status
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                gateway.requests.append({
                    "path": self.path,
                    "form": {key: values[0] for key, values in parse_qs(body).items()},
                    "authorization": self.headers.get("Authorization"),
                    "idempotency": self.headers.get("Idempotency-Key"),
                    "content_type": self.headers.get("Content-Type"),
                })
                answer = json.dumps({"sid": f"SM{len(gateway.requests):032d}"}).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/2010-04-01/Accounts/AC123/Messages.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def sms_test_plugin():
    """A third-party plugin (built here as a module) that sends SMS for backend "carrier-pigeon"."""
    import types

    from core.hookspecs import hookimpl
    from core.plugins import PluginInfo

    module = types.ModuleType("sms_test_plugin")
    module.SENT = []
    module.plugin_info = PluginInfo(name="sms_test", label="SMS test")

    @hookimpl
    def send_sms(app, backend, to, body, key):
        if backend != "carrier-pigeon":
            return None
        module.SENT.append((to, body, key))
        return f"pigeon-{len(module.SENT)}"

    module.send_sms = send_sms
    return module
