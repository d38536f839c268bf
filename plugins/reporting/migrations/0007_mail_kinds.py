"""The notices' rows in core's mail record are named after the module, as core.mail.MailKind asks,
so /admin/messages can show moderators a notice that was not sent."""

RENAMED = {"moderator_notice": "reporting_moderator_notice", "reporter_notice": "reporting_reporter_notice"}


def _rename(db, names: dict[str, str]) -> None:
    for old, new in names.items():
        db.execute_sql(f"UPDATE core_outgoing_mail SET kind = {db.param} WHERE kind = {db.param}", (new, old))


def up(migrator, db):
    _rename(db, RENAMED)


def down(migrator, db):
    _rename(db, {new: old for old, new in RENAMED.items()})
