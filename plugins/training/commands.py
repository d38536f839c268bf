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


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--public-key", "key_text", default=None,
              help="The issuer's public key: a PEM file, or its raw base64 (from GET /api/v1/certificates/public-key). "
                   "Without it, this instance's own key.")
@with_appcontext
def verify(file, key_text):
    """Check a downloaded certificate file (certificate-....json) offline. Exit 0 if genuine, 1 if not."""
    import base64
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    from plugins.training import certificates

    data = click.get_binary_stream("stdin").read() if file == "-" else Path(file).read_bytes()
    if key_text is None:
        raw = certificates.public_key_raw()
    else:
        try:
            if Path(key_text).is_file():
                key = serialization.load_pem_public_key(Path(key_text).read_bytes())
                raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            else:
                raw = base64.b64decode(key_text, validate=True)
        except (ValueError, TypeError, OSError):
            raise click.ClickException("--public-key must be a PEM file or 32 bytes in base64") from None
    checked = certificates.verify_document(data, raw)
    if not checked.ok:
        click.echo(f"NOT VALID: {checked.problem}")
        raise SystemExit(1)
    payload = checked.payload
    click.echo("GENUINE: the signature matches this issuer's key.")
    for name in ("code", "learner_name", "course", "issued_on", "hours", "trainers", "expires_on", "issuer",
                 "verify_url"):
        value = payload.get(name)
        click.echo(f"{name}: {', '.join(value) if isinstance(value, list) else value}")
    click.echo("Whether it was revoked since is shown only online, at verify_url.")
