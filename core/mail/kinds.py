"""What each kind of message in the mail record is, and which staff see it when it is not sent.

Core and each module declare their kinds through the register_mail_kinds hook; /admin/messages
(core.views.outbox) shows a message to the staff holding its kind's permission, in words instead
of the stored code. A module's kinds are named after it ("training_booking"), as its permissions
are, so two modules cannot claim the same code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

KIND_MAX_LENGTH = 32  # OutgoingMail.kind
SEE_UNSENT = "admin.messages"  # opens /admin/messages; whoever handles a kind holds it too


@dataclass(frozen=True)
class MailKind:
    name: str  # OutgoingMail.kind, as passed to queue_mail
    label: object  # a lazy translated string: what the message is, for staff
    permission: str  # staff holding it see this kind's messages that were not sent, and may retry them

    def __post_init__(self):
        if not 0 < len(self.name) <= KIND_MAX_LENGTH:
            raise ValueError(f"mail kind {self.name!r} must be 1 to {KIND_MAX_LENGTH} characters")


def init_app(app) -> None:
    """Collect every installed plugin's kinds once, at start-up, so a badly named one stops it there."""
    from core.plugins import get_registry

    kinds: dict[str, tuple[str, MailKind]] = {}
    for owner, kind in get_registry(app).call_each("register_mail_kinds", app=app):  # names checked there
        if kind.name in kinds:
            raise ValueError(f"mail kind {kind.name} is declared twice (again by {owner})")
        if kind.permission not in app.extensions["redumbrella.permissions"]:
            raise ValueError(f"mail kind {kind.name} names unknown permission {kind.permission}")
        kinds[kind.name] = (owner, kind)
    app.extensions["redumbrella.mail_kinds"] = kinds
    _let_handlers_see_unsent(app.extensions["redumbrella.permissions"], [kind for _owner, kind in kinds.values()])


def _let_handlers_see_unsent(table: dict, kinds: list[MailKind]) -> None:
    """The roles holding a kind's permission (training's trainers) may open the page, where they
    see only their kinds' messages."""
    see = table[SEE_UNSENT]
    handlers = sorted({role for kind in kinds for role in table[kind.permission].roles} - set(see.roles))
    table[SEE_UNSENT] = dataclasses.replace(see, roles=(*see.roles, *handlers))


def mail_kinds(app) -> dict[str, MailKind]:
    """{kind name: MailKind} of core and the enabled modules (a module that is off sends nothing)."""
    from core.plugins import get_registry

    enabled = get_registry(app).enabled()
    return {name: kind for name, (owner, kind) in app.extensions["redumbrella.mail_kinds"].items() if owner in enabled}
