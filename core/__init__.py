"""Red Umbrella core: the small Flask application every plugin stands on."""

# The one place the release number is written: setup.cfg reads it (version = attr: ...), plugins
# compare it with their requires_core, and CHANGELOG.md says what each release changed.
__version__ = "0.2.0"

__all__ = ["__version__", "create_app"]


def __getattr__(name: str):
    """`from core import create_app`, imported when asked for: gunicorn's master process imports
    core for its logger class (core.gunicorn_log) and must not load the whole platform with it
    (about 27 MiB; docs/speed.md, "Memory")."""
    if name == "create_app":
        from core.app import create_app

        return create_app
    raise AttributeError(f"module 'core' has no attribute {name!r}")
