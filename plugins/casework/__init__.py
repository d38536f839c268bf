"""Casework: ISVA and caseworker support for people who ask for it."""

from pathlib import Path

from core.i18n import PluginDomain

domain = PluginDomain("casework", Path(__file__).parent / "translations")
_ = domain.gettext
_l = domain.lazy_gettext
