"""Alerts: sanitised warnings sent to members and partners, and the identifier check."""

from pathlib import Path

from core.i18n import PluginDomain

domain = PluginDomain("alerts", Path(__file__).parent / "translations")
_ = domain.gettext
_l = domain.lazy_gettext
ngettext = domain.ngettext
