"""Red Umbrella core: the small Flask application every plugin stands on."""

from core.app import create_app

__all__ = ["create_app"]
