"""Roles and permissions: every view declares what it needs, and anything undeclared is refused.

A permission is granted to roles; a person may hold several roles. Plugins add permissions through
the register_permissions hook. The check runs before every request (core.app), so a view that
forgets to declare anything is denied, and tests/test_route_permissions.py names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ROLES = ("member", "partner", "moderator", "caseworker", "trainer", "learner", "admin")
# Roles whose accounts must use two-factor sign-in: they can see other people's data.
STAFF_ROLES = frozenset({"moderator", "caseworker", "trainer", "admin"})

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any active account


@dataclass(frozen=True)
class Permission:
    name: str
    description: object  # lazy string, shown on the admin pages
    roles: tuple[str, ...]


def requires(permission: str) -> Callable:
    """Declare the permission a view needs: a Permission name, PUBLIC or SIGNED_IN."""

    def mark(view: Callable) -> Callable:
        view.required_permission = permission
        return view

    return mark


def public(view: Callable) -> Callable:
    return requires(PUBLIC)(view)


def signed_in(view: Callable) -> Callable:
    return requires(SIGNED_IN)(view)


def permission_table(app) -> dict[str, Permission]:
    return app.extensions["redumbrella.permissions"]


def roles_for(app, permission: str) -> frozenset[str]:
    found = permission_table(app).get(permission)
    return frozenset(found.roles) if found else frozenset()


def user_has(app, user, permission: str) -> bool:
    """Whether an account may use a permission; unknown permissions are granted to nobody."""
    if permission == PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if permission == SIGNED_IN:
        return True
    return bool(roles_for(app, permission) & frozenset(user.role_names))


def init_app(app) -> None:
    from core.plugins import get_registry

    table: dict[str, Permission] = {}
    for owner, permission in get_registry(app).call_each("register_permissions", app=app):
        if permission.name in table:
            raise ValueError(f"permission {permission.name} is defined twice (again by {owner})")
        unknown = set(permission.roles) - set(ROLES)
        if unknown:
            raise ValueError(f"permission {permission.name} names unknown roles {sorted(unknown)}")
        table[permission.name] = permission
    app.extensions["redumbrella.permissions"] = table
