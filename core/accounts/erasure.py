"""Erasing an account and its data: the person's own choice, or an administrator's.

`erase_account(user_id, actor_id)` does it all in ONE transaction, so an erasure is whole or not at
all:

1. The write lock first: on SQLite the transaction begins `BEGIN IMMEDIATE` (core.db), on
   PostgreSQL the account's row is locked (`lock_row`), so two erasures of the same account, or an
   erasure and a sign-in changing the row, queue up instead of interleaving.
2. The `account_erased(app, user_id)` hook on EVERY installed plugin, enabled or not (a module that
   is switched off still holds data). Each deletes or anonymises what it holds for the account
   (docs/plugin-hooks.md#account_erased); the plugins' choices are documented in
   docs/modules/*.md, "When an account is erased".
3. Core's own rows: sessions, access tokens, two-factor device and recovery codes, set-password
   links, roles, the profile, the organisation membership, membership applications and
   invitations made out to the account's e-mail address or mobile number, sign-in throttling rows
   counted against its address, and core's outgoing e-mails about the account (sent or not).
   Where another account is named by number only (who invited someone, who decided an
   application), the number is cleared.
4. The account row is deleted; every foreign key still pointing at it is then cleared or its row
   deleted by the database (ON DELETE SET NULL / CASCADE), which also catches what a third-party
   plugin forgot. If a table refuses (a reference without ON DELETE), the row stays as an empty
   shell: no e-mail, name, password, language or roles, switched off.
5. One audit entry, `account.erased`, target `user:<id>`. The audit log is append-only and
   hash-chained, and already holds only account numbers and codes (never names, addresses or free
   text), so its entries stay as they are.

The last active administrator cannot be erased (someone must be able to run the site).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from peewee import ForeignKeyField, IntegrityError

from core.accounts.models import User, UserRole
from core.db import db, is_sqlite, lock_row

ERASED = "account.erased"


class ErasureRefused(Exception):
    """The account cannot be erased (the last administrator); the message says why, translated."""


def only_admin(user: User) -> bool:
    """Whether this is the last active administrator (who must not be erased)."""
    if "admin" not in user.role_names:
        return False
    others = (
        UserRole.select()
        .join(User)
        .where((UserRole.role == "admin") & (User.active == True) & (User.id != user.id))  # noqa: E712
        .count()
    )
    return others == 0


def last_admin_message() -> str:
    return _("This is the only administrator, so the account cannot be erased. Invite another "
             "administrator first.")


def erase_account(user_id: int, actor_id: int | None) -> bool:
    """Erase the account and everything tied to it; False when there was no such account.

    `actor_id`: who asked (the account itself, or an administrator), for the audit entry.
    Raises ErasureRefused for the last active administrator.
    """
    from core.audit import record
    from core.plugins import get_registry

    app = current_app._get_current_object()
    registry = get_registry(app)
    with db.atomic():
        lock_row(User, user_id)
        user = User.get_or_none(User.id == user_id)
        if user is None or is_erased(user_id):
            return False
        if user.active and only_admin(user):
            raise ErasureRefused(last_admin_message())
        # Every installed plugin, enabled or not: `include` adds the disabled ones to the call.
        registry.call("account_erased", include=tuple(registry.infos), app=app, user_id=user_id)
        erase_core_rows(user)
        _delete_account_row(user_id)
        record(ERASED, target=f"user:{user_id}", actor_id=actor_id)
    return True


def is_erased(user_id: int) -> bool:
    """An empty row left to keep an erased account's number (see _delete_account_row) is not an
    account: the audit log's account.erased entry says so."""
    from core.audit import AuditEntry

    return AuditEntry.select().where((AuditEntry.action == ERASED) & (AuditEntry.target == f"user:{user_id}")).exists()


def erase_core_rows(user: User) -> None:
    """Core's rows of the account (step 3 above); the account row itself is left to the caller."""
    from core.accounts.invitations import Invitation, PasswordLink
    from core.accounts.membership import MembershipApplication
    from core.accounts.profile import AccountProfile
    from core.accounts.sessions import AccountSession
    from core.accounts.tokens import AccessToken
    from core.accounts.totp import RecoveryCode, TotpDevice
    from core.mail import OutgoingMail
    from core.organisations import OrganisationMember

    user_id = user.id
    profile = AccountProfile.get_or_none(AccountProfile.user == user_id)
    phone_index = profile.phone_index if profile is not None else None

    for model in (AccountSession, AccessToken, TotpDevice, RecoveryCode, PasswordLink, AccountProfile,
                  OrganisationMember, UserRole):
        model.delete().where(model.user == user_id).execute()

    mail_targets = [f"user:{user_id}"]
    applications = MembershipApplication.select(MembershipApplication.id)
    matches = []
    if user.email_index:
        matches.append(MembershipApplication.email_index == user.email_index)
    if phone_index:
        matches.append(MembershipApplication.phone_index == phone_index)
    if matches:
        condition = matches[0] if len(matches) == 1 else matches[0] | matches[1]
        ids = [row.id for row in applications.where(condition)]
        mail_targets += [f"application:{found}" for found in ids]
        if ids:
            MembershipApplication.delete().where(MembershipApplication.id.in_(ids)).execute()
    MembershipApplication.update(decided_by=None).where(MembershipApplication.decided_by == user_id).execute()

    if user.email_index:
        invited = [row.id for row in Invitation.select(Invitation.id).where(Invitation.email_index == user.email_index)]
        mail_targets += [f"invitation:{found}" for found in invited]
        if invited:
            Invitation.delete().where(Invitation.id.in_(invited)).execute()
    Invitation.update(invited_by=None).where(Invitation.invited_by == user_id).execute()

    OutgoingMail.delete().where(OutgoingMail.target.in_(mail_targets)).execute()
    _forget_throttling(user)
    _clear_wording_author(user_id)


def _forget_throttling(user: User) -> None:
    """Sign-in and reset attempts counted against the account's address (keyed hashes of it)."""
    from core.accounts import throttle

    if not user.email:
        return
    for kind in (throttle.LOGIN, throttle.RESET):
        throttle.clear_account(throttle.account_key(user.email, kind), kind)


def _clear_wording_author(user_id: int) -> None:
    """Local wording keeps who changed a message by account number; an erased account is nobody."""
    try:
        from core.wording.models import WordingOverride
    except ImportError:  # a core without local wording
        return
    if not WordingOverride.table_exists():
        return
    WordingOverride.update(changed_by=None).where(WordingOverride.changed_by == user_id).execute()


def _delete_account_row(user_id: int) -> None:
    """Delete the account row, or (a table refuses) leave an empty, switched-off shell.

    On SQLite a deleted newest row's number would be given to the next account, and the audit
    log's old entries (actor user:N) would then seem to be that new person's: so once the database
    has cleared every link, an empty, switched-off row takes the number back for good."""
    try:
        with db.atomic():  # a savepoint: a refusal rolls back this statement only
            User.delete().where(User.id == user_id).execute()
        if is_sqlite():
            User.insert(id=user_id, email=None, email_index=None, working_name=None, password_hash=None,
                        locale=None, active=False).execute()
    except IntegrityError:
        User.update(
            email=None, email_index=None, working_name=None, password_hash=None, locale=None,
            active=False, session_version=User.session_version + 1,
        ).where(User.id == user_id).execute()


# -- for plugins -----------------------------------------------------------------------------------


def unlink_account(models, user_id: int, skip: tuple = ()) -> None:
    """For a plugin's account_erased: every foreign key to the account in `models` (except the fields
    in `skip`, handled by the caller) is cleared when it may be empty, and its row deleted when not.

    The rows where the account was only *someone who acted* (a moderator who wrote a note, a trainer
    who marked attendance) keep their content and lose the name; rows that belong to the account
    and cannot exist without it go. Call it after deleting or anonymising what the plugin decides
    case by case, so nothing that points at the account is left behind.
    """
    for model in models:
        for field in model._meta.sorted_fields:
            if not isinstance(field, ForeignKeyField) or field.rel_model is not User or field in skip:
                continue
            if field.null:
                model.update({field: None}).where(field == user_id).execute()
            else:
                model.delete().where(field == user_id).execute()

