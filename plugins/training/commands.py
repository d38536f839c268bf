"""`redumbrella training ...` commands."""

import click
from flask.cli import with_appcontext

from core.db import connection


@click.command("add-course")
@click.argument("title")
@click.option("--summary", default="", help="One or two sentences about the course.")
@with_appcontext
def add_course(title, summary):
    """Add a course to the catalogue."""
    from plugins.training.models import Course

    with connection():
        course = Course.create(title=title[:200], summary=summary)
    click.echo(f"course #{course.id} added")
