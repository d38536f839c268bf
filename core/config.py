"""Configuration: defaults, then the instance's config.toml, then REDUMBRELLA_* variables.

Every setting is checked once at start-up so that a typo stops the platform with one clear line
instead of failing later in the middle of someone's report.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from urllib.parse import urlparse

from babel import Locale, UnknownLocaleError

ENV_PREFIX = "REDUMBRELLA"
CONFIG_FILE_NAME = "config.toml"
SECRET_KEY_FILE_NAME = "secret_key"  # noqa: S105 - a file name, not a secret


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line a person can act on."""


DEFAULTS = {
    "SITE_NAME": "Red Umbrella",
    # A neutral title (for example "Notes") replaces the site name in every <title> and header.
    "NEUTRAL_TITLE": "",
    "QUICK_EXIT_URL": "https://www.bbc.co.uk/weather",
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "QUEUE_IMMEDIATE": False,
    "QUEUE_WORKERS": 2,
    "DEFAULT_LOCALE": "en",
    "LOCALES": ["en", "es", "pt_BR", "ro"],
    "DEFAULT_TIMEZONE": "UTC",
    "DEFAULT_COUNTRY": "GB",
    "LOG_LEVEL": "INFO",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 4,
    "ENCRYPTION_KEYS": "",
    "BLIND_INDEX_KEY": "",
}

_BOOLEAN_KEYS = {"QUEUE_IMMEDIATE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SECURE"}
_INTEGER_KEYS = {
    "QUEUE_WORKERS",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "MAX_CONTENT_LENGTH",
    "ARGON2_TIME_COST",
    "ARGON2_MEMORY_COST",
    "ARGON2_PARALLELISM",
}


def instance_path_from_env() -> Path:
    """The instance folder: REDUMBRELLA_INSTANCE_PATH, else ./instance."""
    return Path(os.environ.get(f"{ENV_PREFIX}_INSTANCE_PATH") or "instance").resolve()


def load_config(app, overrides: dict | None = None) -> None:
    """Fill app.config from defaults, the instance file, the environment and overrides, then check it."""
    app.config.update(DEFAULTS)
    config_file = Path(app.instance_path) / CONFIG_FILE_NAME
    if config_file.exists():
        try:
            app.config.from_file(str(config_file), load=tomllib.load, text=False)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file} is not valid TOML: {exc}") from None
    app.config.from_prefixed_env(ENV_PREFIX, loads=_loads)
    if overrides:
        app.config.update(overrides)
    _check(app)


def _loads(value: str):
    """Environment values stay strings; _check converts them, so errors name the variable."""
    return value


def _check(app) -> None:
    config = app.config
    for key in _BOOLEAN_KEYS:
        config[key] = _as_bool(key, config[key])
    for key in _INTEGER_KEYS:
        config[key] = _as_int(key, config[key])

    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'redumbrella.sqlite3'}"
    scheme = urlparse(config["DATABASE_URL"]).scheme.split("+")[0]
    if scheme not in {"sqlite", "postgres", "postgresql"}:
        raise ConfigError(
            f"{ENV_PREFIX}_DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme or 'nothing'}:"
        )
    if config["REDIS_URL"] and urlparse(config["REDIS_URL"]).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{ENV_PREFIX}_REDIS_URL must start with redis:// or rediss://")

    locales = config["LOCALES"]
    if isinstance(locales, str):
        locales = [part.strip() for part in locales.replace(";", ",").split(",") if part.strip()]
    if not locales:
        raise ConfigError(f"{ENV_PREFIX}_LOCALES must list at least one language, for example en,es")
    for code in locales:
        try:
            Locale.parse(code)
        except (ValueError, UnknownLocaleError):
            raise ConfigError(f"{ENV_PREFIX}_LOCALES has an unknown language code: {code}") from None
    config["LOCALES"] = locales
    if config["DEFAULT_LOCALE"] not in locales:
        raise ConfigError(
            f"{ENV_PREFIX}_DEFAULT_LOCALE ({config['DEFAULT_LOCALE']}) must be one of "
            f"{ENV_PREFIX}_LOCALES ({', '.join(locales)})"
        )
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    config["BABEL_DEFAULT_TIMEZONE"] = config["DEFAULT_TIMEZONE"]

    import phonenumbers

    if config["DEFAULT_COUNTRY"] not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"{ENV_PREFIX}_DEFAULT_COUNTRY must be a two-letter country code such as GB, "
            f"not {config['DEFAULT_COUNTRY']}"
        )
    if config["LOG_LEVEL"] not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{ENV_PREFIX}_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _stored_secret_key(Path(app.instance_path))
    elif len(str(config["SECRET_KEY"])) < 32:
        raise ConfigError(f"{ENV_PREFIX}_SECRET_KEY must be at least 32 characters long")


def _as_bool(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{ENV_PREFIX}_{key} must be true or false, not {value!r}")


def _as_int(key: str, value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{ENV_PREFIX}_{key} must be a whole number, not {value!r}") from None


def _stored_secret_key(instance: Path) -> str:
    """Read the instance's secret key, creating it (readable by the owner only) on first start."""
    path = instance / SECRET_KEY_FILE_NAME
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it a moment ago
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
