"""Drop-ins: where and when people can call in for support."""

from pathlib import Path

from core.i18n import PluginDomain

__version__ = "0.1.0"

domain = PluginDomain("dropins", Path(__file__).parent / "translations")
_ = domain.gettext
_l = domain.lazy_gettext
