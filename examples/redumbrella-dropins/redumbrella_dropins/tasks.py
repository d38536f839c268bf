"""Queue tasks of the dropins plugin. Arguments are ids, never names or free text."""

import logging

from core.queue import crontab, periodic_task, task

log = logging.getLogger("redumbrella.dropins")


@task(retries=3, retry_delay=30)
def dropin_listed(dropin_id: int) -> int:
    """Runs on the queue after a drop-in is added."""
    from redumbrella_dropins.models import DropIn

    count = DropIn.select().count()
    log.info("drop-in listed", extra={"event": "dropin_listed", "plugin": "dropins", "count": count})
    return count


@periodic_task(crontab(minute="0", hour="5"))
def daily_count() -> int:
    """Every day at 05:00 UTC, while the plugin is enabled."""
    from redumbrella_dropins.models import DropIn

    count = DropIn.select().count()
    log.info("drop-ins listed", extra={"event": "dropins_count", "plugin": "dropins", "count": count})
    return count
