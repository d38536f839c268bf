"""Queue tasks of federation (bound as core.push_to_peers, core.sweep_federation, core.pull_peers).
They take no arguments: what must not be lost is in the federation tables."""

from core.queue import crontab, periodic_task, task


@task()
def push_to_peers():
    """Push the due urgent items and withdrawals to peers."""
    from core.federation import push

    return push.drain()


@periodic_task(crontab(minute="*"))
def sweep_federation():
    """Recover pushes held by dead workers, send what is due (retries included), forget old nonces."""
    from core.federation import push
    from core.federation.peers import forget_old_nonces

    forget_old_nonces()
    return push.sweep()


@periodic_task(crontab(minute="*/5"))
def pull_peers():
    """Pull every active peer's feed (every five minutes)."""
    from core.federation.pull import pull_all

    return {name: dict(counts) for name, counts in pull_all().items()}


TASKS = [push_to_peers, sweep_federation, pull_peers]
