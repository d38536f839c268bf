"""What core's own hooks (core/builtin.py) and pages add for federation."""

from __future__ import annotations


def blueprints() -> list:
    from core.federation.api import bp as api

    return [api]
