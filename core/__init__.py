"""Red Umbrella core: the small Flask application every plugin stands on."""

# The one place the release number is written: setup.cfg reads it (version = attr: ...), plugins
# compare it with their requires_core, and CHANGELOG.md says what each release changed.
__version__ = "0.2.0"

from core.app import create_app  # noqa: E402  # after __version__, which setup.cfg reads without importing

__all__ = ["__version__", "create_app"]
