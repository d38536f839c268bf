"""The Sender: one channel's messages, in each recipient's language, over one open connection.

E-mail goes through core.mail.MailSession (one SMTP connection for the whole drain), text messages
through the send_sms hook. A text is built once per alert, version and language (compose) and
reused for every recipient who reads that language.
"""

from __future__ import annotations

from flask import current_app

from core.display import directed_text
from core.i18n import force_language
from core.mail import MailSession, MessageTemplate, PermanentFailure
from plugins.alerts.delivery.compose import compose
from plugins.alerts.delivery.outbox import Claimed


class Sender:
    """Sends one channel's messages, keeping its connection open for the whole drain."""

    def __init__(self, channel: str):
        self.channel = channel
        self.mail = MailSession() if channel == "email" else None
        self.cache: dict = {}
        self.versions: dict[int, int] = {}  # alert id -> version, so a corrected alert's text is built anew
        config = current_app.config
        self.locales, self.default_locale = config["LOCALES"], config["DEFAULT_LOCALE"]

    def send(self, row: Claimed) -> None:
        """Hand over one claimed message to its recipient (row.address: their e-mail or number)."""
        locale = row.locale if row.locale in self.locales else self.default_locale
        if self.channel == "email":
            if not row.address:
                raise PermanentFailure("NoEmailAddress")
            template = self._template(row, locale)
            self.mail.send(template.envelope_from, row.address, template.render(row.address, row.key))
        elif self.channel == "sms":
            if not row.address:
                raise PermanentFailure("NoSmsNumber")
            _subject, body = self._texts(row, locale)
            _send_sms(row.address, body, row.key)
        else:
            raise PermanentFailure("UnknownChannel")

    def _texts(self, delivery: Claimed, locale: str) -> tuple[str, str]:
        """(subject, body) in the recipient's language; the same for every recipient of one alert."""
        cache_key = (delivery.kind, delivery.alert_id, self._version(delivery), locale)
        if cache_key not in self.cache:
            with force_language(locale):
                subject, body = compose(delivery, self.channel)
            self.cache[cache_key] = (directed_text(subject, locale), directed_text(body, locale))
        return self.cache[cache_key]

    def _template(self, delivery: Claimed, locale: str) -> MessageTemplate:
        cache_key = ("template", delivery.kind, delivery.alert_id, self._version(delivery), locale)
        if cache_key not in self.cache:
            subject, body = self._texts(delivery, locale)
            self.cache[cache_key] = MessageTemplate(subject, body, language=locale)
        return self.cache[cache_key]

    def _version(self, delivery: Claimed):
        return ("digest", delivery.id) if delivery.kind == "digest" else self.versions.get(delivery.alert_id)

    def close(self) -> None:
        if self.mail is not None:
            self.mail.close()


def _send_sms(to: str, body: str, key: str) -> None:
    from core.plugins import get_registry
    from plugins.alerts import sms

    app = current_app._get_current_object()
    name = sms.backend(app)
    if not name:
        raise PermanentFailure("NoSmsBackend")
    result = get_registry(app).call("send_sms", app=app, backend=name, to=to, body=body, key=key)
    if not result:
        raise PermanentFailure("NoSmsBackend")
