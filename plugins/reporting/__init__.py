"""Reporting: sex workers report harm safely; moderators review what is reported."""

from pathlib import Path

from core.i18n import PluginDomain

domain = PluginDomain("reporting", Path(__file__).parent / "translations")
_ = domain.gettext
_l = domain.lazy_gettext
