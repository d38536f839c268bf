"""Queue tasks of the training plugin."""

from core.queue import task


@task()
def count_courses() -> int:
    """How many courses exist; a cheap task that proves the queue runs training's work."""
    from plugins.training.models import Course

    return Course.select().count()
