"""Email: plain-text messages in the recipient's language, sent over SMTP or written to files.

One module per job; every name is imported from here (`from core.mail import send_message`):

- compose.py: render_message(recipient, template, locale, **context) builds a message from a
  template under core/templates/mail/ (or a plugin's), whose {% block subject %} and
  {% block body %} are rendered with core.i18n.force_language(locale): the recipient's language,
  not the sender's. build_message(recipient, subject, body) does the same for text made elsewhere;
  MessageTemplate builds one text once for many recipients; external_url makes the links.
- session.py: MailSession, the one SMTP transport (and the "file" backend, for development): one
  connection for many messages, each send returning once the server accepted it or raising
  TemporaryFailure / PermanentFailure. The alerts' outbox uses it directly.
- sending.py: send_messages(messages) sends a batch over one session and returns one result per
  message: None when it was accepted, else the exception. A failure to connect raises MailError
  for the whole batch. send_message(message) sends one and raises MailError when it was not sent.
- record.py: e-mails about one record (core's one-time links, password resets and answers to
  applications; modules' notices and bookings) each get an OutgoingMail row when they are queued:
  what kind of message, for which record, and how it went, never the address or the text.
  queue_mail(task, kind, target, *ids) writes the row and queues the task; @tracked on the task
  records each attempt. A message still not sent after its last retry is "failed", and staff see
  it, with the ones still being retried, at /admin/messages (core.views.outbox), as they see
  alert deliveries. So a page only ever says a message is being sent, never that it was. The row
  also keeps its task's name and record ids and the sending worker's claim, so resend_lost (every
  minute) sends again a message whose worker was killed.
- kinds.py: MailKind(name, label, permission), declared by core and each module through the
  register_mail_kinds hook: what a kind of message is, and which staff see it at /admin/messages.
- errors.py: MailError, TemporaryFailure, PermanentFailure, NotConnected.

Subjects must be neutral ("Your link", "An update"): they show on lock screens and in shared
inboxes. Nothing here logs an address, a subject or a body. Send mail from queue tasks whose
arguments are record ids only (see core.accounts.invitations), so a failed send is retried and
no address or text sits in the queue storage.
"""

from core.mail.compose import MessageTemplate, build_message, external_url, render_message
from core.mail.errors import MailError, NotConnected, PermanentFailure, TemporaryFailure
from core.mail.kinds import MailKind, mail_kinds
from core.mail.record import (
    FAILED,
    MAIL_RETRIES,
    MAIL_RETRY_DELAY,
    NOT_NEEDED,
    QUEUED,
    SENT,
    OutgoingMail,
    queue_mail,
    send_again,
    tracked,
    unsent,
)
from core.mail.sending import send_message, send_messages
from core.mail.session import IDLE_CHECK_SECONDS, MAIL_FOLDER_NAME, MailSession, mail_folder

__all__ = [
    "FAILED", "IDLE_CHECK_SECONDS", "MAIL_FOLDER_NAME", "MAIL_RETRIES", "MAIL_RETRY_DELAY", "NOT_NEEDED", "QUEUED",
    "SENT", "MailError", "MailKind", "MailSession", "MessageTemplate", "NotConnected", "OutgoingMail",
    "PermanentFailure", "TemporaryFailure", "build_message", "external_url", "mail_folder", "mail_kinds", "queue_mail",
    "render_message", "send_again", "send_message", "send_messages", "tracked", "unsent",
]
