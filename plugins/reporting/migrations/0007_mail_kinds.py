"""The notices' rows in core's mail record are named after the module, as core.mail.MailKind asks,
so /admin/messages can show moderators a notice that was not sent."""
from peewee import Table

RENAMED = {"moderator_notice": "reporting_moderator_notice", "reporter_notice": "reporting_reporter_notice"}


def _rename(db, names: dict[str, str]) -> None:
    mail = Table("core_outgoing_mail", ("id", "kind")).bind(db)
    for old, new in names.items():
        mail.update(kind=new).where(mail.kind == old).execute()


def up(migrator, db):
    _rename(db, RENAMED)


def down(migrator, db):
    _rename(db, {new: old for old, new in RENAMED.items()})
