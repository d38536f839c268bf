"""The WSGI entry point for gunicorn: `gunicorn core.wsgi:app`."""

import sys

from core.app import create_app
from core.config import ConfigError
from core.key_check import keys_fit_or_unknown

try:
    app = create_app()
    keys_fit_or_unknown(app)  # a worker must not serve with keys that cannot read the data
except ConfigError as exc:
    print(f"redumbrella: configuration error: {exc}", file=sys.stderr)  # noqa: T201
    sys.exit(3)  # gunicorn's "cannot boot" code: the master stops instead of restarting workers forever
