"""Training: courses for police, health and support professionals."""

from pathlib import Path

from core.i18n import PluginDomain

domain = PluginDomain("training", Path(__file__).parent / "translations")
_ = domain.gettext
_l = domain.lazy_gettext
