"""Versioned schema migrations for core and for each plugin, in one history table.

Each owner (core or a plugin) keeps numbered files NNNN_name.py defining up(migrator, db), run by
playhouse.migrations. History rows are named "<owner>:<file>", so two plugins' 0001_initial never
collide. Migrations run only from the CLI (`redumbrella db upgrade`, `init`), never at web start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playhouse.migrations import Migration, Runner

from core.db import db

HISTORY_TABLE = "schema_migration"
CORE_MIGRATIONS = Path(__file__).parent / "migrations"


class OwnerRunner(Runner):
    """A playhouse Runner whose history names are prefixed with the owner's name."""

    def __init__(self, database, owner: str, directory: Path):
        super().__init__(database, str(directory), table_name=HISTORY_TABLE)
        self.owner = owner

    def migrations(self):
        return [
            Migration(m.idx, f"{self.owner}:{m.name}", m.path, m.applied) for m in super().migrations()
        ]

    def applied(self):
        prefix = f"{self.owner}:"
        return {name: when for name, when in super().applied().items() if name.startswith(prefix)}


@dataclass
class OwnerStatus:
    owner: str
    applied: list[str]
    pending: list[str]


def runners(app) -> list[OwnerRunner]:
    """Core first, then every installed plugin (enabled or not: a disabled plugin keeps its tables)."""
    from core.plugins import get_registry

    found = [OwnerRunner(db, "core", CORE_MIGRATIONS)]
    for owner, directory in get_registry(app).call_each("register_migrations", app=app):
        if owner != "core":
            found.append(OwnerRunner(db, owner, Path(directory)))
    return found


def status(app) -> list[OwnerStatus]:
    result = []
    for runner in runners(app):
        rows = runner.status()
        result.append(
            OwnerStatus(
                runner.owner,
                applied=[m.name for m in rows if m.applied],
                pending=[m.name for m in rows if not m.applied],
            )
        )
    return result


def pending(app) -> list[str]:
    return [name for owner in status(app) for name in owner.pending]


def upgrade(app) -> list[str]:
    """Apply every pending migration, core first; return the names applied."""
    applied = []
    for runner in runners(app):
        applied.extend(runner.up())
    return applied
