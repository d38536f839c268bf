"""Roles and permissions: every view declares what it needs, and anything undeclared is refused.

A permission is granted to roles; a person may hold several roles. Core declares the roles every
module needs (member, partner, moderator, admin); a plugin declares its own through the
register_roles hook (casework's caseworker, training's trainer), so a group that has not enabled
the plugin is never offered them. Plugins add permissions through the register_permissions hook.
The check runs before every request (core.app), so a view that forgets to declare anything is
denied, and tests/test_route_permissions.py names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any active account


@dataclass(frozen=True)
class Role:
    name: str
    label: object  # lazy string, shown where roles are chosen
    # Staff can see other people's data, so their accounts must use two-factor sign-in.
    staff: bool = False


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


def role_table(app) -> dict[str, Role]:
    """Every installed plugin's roles (core's first), enabled or not: accounts keep their roles
    while a module is switched off, and still need two-factor sign-in if the role is staff."""
    return app.extensions["redumbrella.roles"]


def roles_offered(app) -> list[Role]:
    """The roles of core and the enabled plugins: what forms and commands let people choose."""
    from core.plugins import get_registry

    enabled, owners = get_registry(app).enabled(), app.extensions["redumbrella.role_owners"]
    return [role for name, role in role_table(app).items() if owners[name] in enabled]


def staff_roles(app) -> frozenset[str]:
    return frozenset(name for name, role in role_table(app).items() if role.staff)


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


@dataclass(frozen=True)
class AccessPaused:
    """Why a permission someone holds is paused for now (the access_paused hook), and where to
    go to restore it."""

    message: str
    link: str | None = None  # a URL
    link_label: str | None = None


def access_paused(app, user, permission: str) -> AccessPaused | None:
    """Whether an enabled plugin pauses this signed-in person's use of a permission they hold.

    Asked only for real permissions (not PUBLIC or SIGNED_IN) that the person holds; a plugin's
    implementation must answer None at once when it has nothing to say (it runs on every such
    request).
    """
    from core.plugins import get_registry

    if permission in (PUBLIC, SIGNED_IN) or not getattr(user, "is_authenticated", False):
        return None
    for answer in get_registry(app).call("access_paused", app=app, user=user, permission=permission):
        if isinstance(answer, AccessPaused):
            return answer
        if answer:
            return AccessPaused(str(answer))
    return None


def may_use(app, user, permission: str) -> bool:
    """Whether a person may use a permission now: they hold it and no enabled plugin pauses it.
    What the request guard decides for the permission a view declares; a view or helper that
    decides for itself (a public feed that also takes a personal token, a count in the menu)
    asks this rather than user_has alone."""
    return user_has(app, user, permission) and access_paused(app, user, permission) is None


def paused_among(app, user_ids, permission: str) -> set[int]:
    """Which of these accounts hold `permission` but have its use paused now: for work done for
    many people outside a request (a queue task sending alerts), where may_use would read the
    enabled plugins and each person's roles once a person.

    Reads which plugins are enabled once; when none of them implements access_paused, answers at
    once. Otherwise it reads the accounts and their roles in one statement and asks each such
    plugin about each holder, the account loaded without its encrypted details (id, roles,
    active, locale).
    """
    from core.accounts.models import User
    from core.db import run_sql
    from core.plugins import get_registry

    ids = sorted(set(user_ids))
    if not ids or permission in (PUBLIC, SIGNED_IN):
        return set()
    registry = get_registry(app)
    askers = [name for name in sorted(registry.enabled()) if registry.implements("access_paused", name)]
    if not askers:
        return set()
    sql = ('SELECT u.id, u.active, u.locale, u.session_version, r.role FROM "user" u '  # noqa: S608  # nosec B608
           f"JOIN user_role r ON r.user_id = u.id WHERE u.id IN ({', '.join(['%s'] * len(ids))})")  # placeholders
    accounts, roles = {}, {}
    for user_id, active, locale, session_version, role in run_sql(sql, ids).fetchall():
        accounts[user_id] = (bool(active), locale, session_version)
        roles.setdefault(user_id, set()).add(role)
    granted, paused = roles_for(app, permission), set()
    for user_id, names in roles.items():
        if not names & granted:
            continue
        active, locale, session_version = accounts[user_id]
        user = User(id=user_id, active=active, locale=locale, session_version=session_version)
        user._role_names = frozenset(names)  # read above: role_names would read them again
        for name in askers:
            if any(registry.call_plugin("access_paused", name, app=app, user=user, permission=permission) or ()):
                paused.add(user_id)
                break
    return paused


def init_app(app) -> None:
    from core.plugins import get_registry

    registry = get_registry(app)
    roles: dict[str, Role] = {}
    owners: dict[str, str] = {}
    for owner, role in registry.call_each("register_roles", app=app):
        if role.name in roles:
            raise ValueError(f"role {role.name} is defined twice (again by {owner})")
        roles[role.name], owners[role.name] = role, owner
    app.extensions["redumbrella.roles"] = roles
    app.extensions["redumbrella.role_owners"] = owners

    table: dict[str, Permission] = {}
    for owner, permission in registry.call_each("register_permissions", app=app):
        if permission.name in table:
            raise ValueError(f"permission {permission.name} is defined twice (again by {owner})")
        unknown = set(permission.roles) - set(roles)
        if unknown:
            raise ValueError(f"permission {permission.name} names unknown roles {sorted(unknown)}")
        table[permission.name] = permission
    app.extensions["redumbrella.permissions"] = table
