"""Queue tasks of core's webhooks (bound as core.deliver_webhooks and core.sweep_webhooks).

They take no arguments: what must not be lost is in the webhook_delivery table, not in the queue.
"""

from core.queue import crontab, periodic_task, task


@task()
def deliver_webhooks():
    """Send the due webhook deliveries until none are left."""
    from core.webhooks import sending

    return sending.drain()


@periodic_task(crontab(minute="*"))
def sweep_webhooks():
    """Recover deliveries held by dead workers and send what is due (retries included).

    huey's consumer enqueues every-minute periodic tasks as soon as it starts, so a worker
    restarted after a crash picks up where the dead one stopped within seconds."""
    from core.webhooks import sending

    return sending.sweep()


TASKS = [deliver_webhooks, sweep_webhooks]
