"""The WSGI entry point for gunicorn: `gunicorn core.wsgi:app`."""

import sys

from core.app import create_app
from core.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"redumbrella: configuration error: {exc}", file=sys.stderr)  # noqa: T201
    sys.exit(3)  # gunicorn's "cannot boot" code: the master stops instead of restarting workers forever
