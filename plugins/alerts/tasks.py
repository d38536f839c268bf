"""Queue tasks of the alerts plugin. Arguments are a channel name or nothing: never an address or
a text. What must not be lost is in the outbox table, not in the queue."""

from core.queue import crontab, periodic_task, task


@task()
def drain_outbox(channel):
    """Send the due messages of one channel (email or sms) until none are left."""
    from plugins.alerts import delivery

    return delivery.drain(channel)


@periodic_task(crontab(minute="*"))
def sweep_outbox():
    """Recover messages held by dead workers, bundle daily digests, and drain what is due.

    huey's consumer enqueues every-minute periodic tasks as soon as it starts, so a worker
    restarted after a crash picks up where the dead one stopped within seconds.
    """
    from plugins.alerts import delivery

    return delivery.sweep()
