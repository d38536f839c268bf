"""Retention: plugins say what expires and when; a daily task deletes it for real.

A plugin returns RetentionRule objects from the retention_rules hook, for example

    @hookimpl
    def retention_rules(app):
        return [
            RetentionRule(
                model=Report,
                age_field=Report.closed_at,               # rows older than max_age by this column
                max_age=days_setting("reporting", "keep_closed_reports_days"),
                condition=lambda: Report.state == "closed",  # only these rows expire
                label="closed reports",
            )
        ]

Rows of dependent tables (foreign keys pointing at an expired row) are deleted with it, depth
first, so nothing is left dangling. On SQLite the database runs with secure_delete, so deleted
content is overwritten with zeros, and the write-ahead log is checkpointed and truncated after a
sweep so no old copy of a page survives there either. On PostgreSQL the swept tables are
vacuumed so the dead rows are pruned (see docs/security.md for what that does and does not do).

Run it now with `redumbrella retention run`; the queue worker runs it daily.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from peewee import Expression, Field, ForeignKeyField, Model

from core.db import connection, db, is_sqlite, utcnow
from core.queue import crontab, periodic_task

log = logging.getLogger("redumbrella.retention")
BATCH_SIZE = 500

MaxAge = datetime.timedelta | Callable[[object], datetime.timedelta | None] | None


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `model` whose `age_field` is older than `max_age` (and match `condition`) expire.

    max_age: a timedelta, or a callable taking the app and returning one (read at each sweep, so
        an administrator's setting takes effect without a restart); None or a zero/negative age
        means "keep for ever" and the rule does nothing.
    condition: an extra peewee expression, or a callable returning one (evaluated per sweep).
    delete_nullable: also delete rows that point at an expired row through a nullable foreign
        key; by default such references are set to NULL and the row is kept.
    label: a short description for the command's output; never personal data.
    """

    model: type[Model]
    age_field: Field
    max_age: MaxAge
    condition: Expression | Callable[[], Expression] | None = None
    delete_nullable: bool = False
    label: str = ""

    def resolved_max_age(self, app) -> datetime.timedelta | None:
        age = self.max_age(app) if callable(self.max_age) else self.max_age
        if age is None or age <= datetime.timedelta(0):
            return None
        return age

    def expired_query(self, app, now: datetime.datetime):
        """The primary keys of rows that have expired, or None when the rule keeps everything."""
        age = self.resolved_max_age(app)
        if age is None:
            return None
        pk = self.model._meta.primary_key
        query = self.model.select(pk).where(self.age_field < now - age)
        condition = self.condition() if callable(self.condition) else self.condition
        if condition is not None:
            query = query.where(condition)
        return query.order_by(pk)

    @property
    def name(self) -> str:
        return self.label or self.model._meta.table_name


def days_setting(plugin: str, key: str) -> Callable[[object], datetime.timedelta | None]:
    """max_age read from a plugin setting holding a number of days (0 or empty: keep for ever)."""

    def read(app) -> datetime.timedelta | None:
        from core.settings import plugin_settings

        days = plugin_settings(plugin).get(key)
        return datetime.timedelta(days=int(days)) if days else None

    return read


def config_days(key: str) -> Callable[[object], datetime.timedelta | None]:
    """max_age read from an instance setting (config.toml or REDUMBRELLA_<KEY>) in days."""

    def read(app) -> datetime.timedelta | None:
        days = app.config.get(key)
        return datetime.timedelta(days=int(days)) if days else None

    return read


@dataclass
class SweepResult:
    owner: str
    rule: str
    table: str
    deleted: int  # rows of the rule's own table
    dependents: int  # rows of other tables deleted with them


def rules(app) -> list[tuple[str, RetentionRule]]:
    """Every enabled plugin's rules, as (plugin, rule) pairs."""
    from core.plugins import get_registry

    return get_registry(app).call_each("retention_rules", enabled_only=True, app=app)


def sweep(app, now: datetime.datetime | None = None) -> list[SweepResult]:
    """Delete every expired row of every enabled plugin's rules; return what was deleted."""
    now = now or utcnow()
    results = []
    touched: set[str] = set()
    for owner, rule in rules(app):
        if not isinstance(rule, RetentionRule):
            raise TypeError(f"plugin {owner} returned {rule!r} from retention_rules, not a RetentionRule")
        result = SweepResult(owner, rule.name, rule.model._meta.table_name, 0, 0)
        query = rule.expired_query(app, now)
        while query is not None:
            with db.atomic():
                ids = [row[0] for row in query.limit(BATCH_SIZE).tuples()]
                if not ids:
                    break
                counts = _delete_rows(rule.model, ids, rule.delete_nullable, touched)
            deleted = counts.pop(rule.model._meta.table_name, 0)
            result.deleted += deleted
            result.dependents += sum(counts.values())
            if not deleted:  # something refused the delete; do not spin on the same rows
                break
        if result.deleted:
            _record(result)
        results.append(result)
    if touched:
        _scrub(touched)
    return results


def _delete_rows(model: type[Model], ids: list, delete_nullable: bool, touched: set[str]) -> dict[str, int]:
    """Delete rows by primary key, after the rows that depend on them (depth first)."""
    counts: dict[str, int] = {}
    pk = model._meta.primary_key
    for fk in _dependent_fields(model):
        dependant = fk.model
        # A foreign key may point at another unique column of this table than its primary key.
        keys = ids if fk.rel_field is pk else [r[0] for r in model.select(fk.rel_field).where(pk.in_(ids)).tuples()]
        if fk.null and not delete_nullable:
            dependant.update({fk: None}).where(fk.in_(keys)).execute()
            continue
        dependant_pk = dependant._meta.primary_key
        child_ids = [row[0] for row in dependant.select(dependant_pk).where(fk.in_(keys)).tuples()]
        if child_ids:
            for table, count in _delete_rows(dependant, child_ids, delete_nullable, touched).items():
                counts[table] = counts.get(table, 0) + count
    deleted = model.delete().where(pk.in_(ids)).execute()
    table = model._meta.table_name
    counts[table] = counts.get(table, 0) + deleted
    touched.add(table)
    return counts


def _dependent_fields(model: type[Model]) -> list[ForeignKeyField]:
    """Foreign keys of any loaded model that point at this one (self-references excluded)."""
    return [fk for fk in model._meta.backrefs if fk.model is not model]


def _record(result: SweepResult) -> None:
    from core.audit import record

    record("retention.deleted", target=f"table:{result.table} rows:{result.deleted}")
    log.info(
        "retention sweep",
        extra={"event": "retention_deleted", "plugin": result.owner, "count": result.deleted, "reason": result.table},
    )


def _scrub(tables: set[str]) -> None:
    """Make sure no copy of deleted rows stays behind in the database's own files."""
    if is_sqlite():
        # secure_delete zeroed the pages; the WAL still holds earlier copies until it is truncated.
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    if db.in_transaction():  # VACUUM cannot run inside a transaction; the next sweep will do it
        return
    for table in sorted(tables):
        db.execute_sql(f'VACUUM "{table}"')


@periodic_task(crontab(minute="23", hour="3"))
def purge_expired():
    """Daily: delete what every enabled plugin's retention rules say has expired."""
    results = sweep(current_app)
    total = sum(result.deleted for result in results)
    log.info("retention done", extra={"event": "retention_done", "count": total})
    return total


@click.group()
def retention():
    """Retention rules declared by the enabled plugins."""


@retention.command("run")
@with_appcontext
def retention_run():
    """Delete expired rows now (the queue worker also does this daily)."""
    with connection():
        results = sweep(current_app)
    if not results:
        click.echo("no retention rules are declared by the enabled plugins")
    for result in results:
        extra = f" (and {result.dependents} dependent row(s))" if result.dependents else ""
        click.echo(f"{result.owner}: {result.rule}: {result.deleted} row(s) deleted{extra}")


@retention.command("list")
@with_appcontext
def retention_list():
    """Show each rule and how long its rows are kept."""
    with connection():
        found = rules(current_app)
        if not found:
            click.echo("no retention rules are declared by the enabled plugins")
        for owner, rule in found:
            age = rule.resolved_max_age(current_app)
            kept = f"{age.days} day(s)" if age is not None else "for ever"
            click.echo(f"{owner}: {rule.name}: kept {kept} after {rule.age_field.name}")
