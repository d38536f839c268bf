"""Clearly fake sample data, so a newcomer sees every enabled module at work within a minute."""

from __future__ import annotations

from core.accounts.models import User
from core.accounts.passwords import hash_password
from core.accounts.service import create_account
from core.permissions import roles_offered
from core.plugins import get_registry

DEMO_DOMAIN = "demo.invalid"  # a reserved name: no demo address can ever reach a real person


def fill(app, password: str) -> tuple[dict[str, User], str]:
    """Enable every installed plugin, make one account per role, then ask plugins for sample data."""
    registry = get_registry(app)
    for name in _in_dependency_order(registry):
        if not registry.is_enabled(name):
            registry.set_enabled(name, True)
    accounts: dict[str, User] = {}
    for role in [role.name for role in roles_offered(app)]:
        email = f"{role}@{DEMO_DOMAIN}"
        user = User.by_email(email)
        if user is None:
            user = create_account(email, password, [role], working_name=f"Demo {role}")
        else:  # run again: the password printed now must be the one that works
            user.password_hash = hash_password(password)
            user.save(only=[User.password_hash])
        accounts[role] = user
    registry.call("demo_data", app=app, accounts=accounts)
    return accounts, password


def _in_dependency_order(registry) -> list[str]:
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for requirement in registry.infos[name].requires:
            visit(requirement)
        ordered.append(name)

    for name in registry.names:
        visit(name)
    return ordered
