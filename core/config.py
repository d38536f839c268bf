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
SECRET_KEY_FILE_NAME = "secret_key"  # noqa: S105  # nosec B105  # a file name, not a secret


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
    "QUEUE_WORKERS": 4,  # threads: alert e-mails wait on the mail server, so more threads than cores
    "DEFAULT_LOCALE": "en",
    # Dates and numbers of English pages: en_GB ("6 Dec 2026"), en_US ("Dec 6, 2026"), en_IE, en_AU...
    "ENGLISH_VARIANT": "en_GB",
    # Every language Red Umbrella ships (locales/languages.toml); /admin/languages shows how far each is reviewed.
    "LOCALES": ["en", "es", "pt_BR", "ro", "pl", "bg", "hu", "th", "zh_Hans", "fr", "ar"],
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
    # Keys of the audit log's HMAC chain, comma-separated, newest first (core.audit).
    "AUDIT_KEYS": "",
    # Where people reach the site, for links in emails sent by the queue (https://example.org).
    "BASE_URL": "",
    # Email (core.mail): "smtp", or "file" (development: .eml files in instance/mail/).
    # Left empty, it is smtp when MAIL_SERVER is set and file otherwise.
    "MAIL_BACKEND": "",
    "MAIL_SERVER": "",
    "MAIL_PORT": 0,  # 0: 465 with SSL, 587 with STARTTLS, else 25
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",  # nosec B105  # empty default: no SMTP login
    "MAIL_DEFAULT_SENDER": "",
    "MAIL_TIMEOUT": 30,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
    "TRUSTED_PROXIES": 0,
    # Sign-in and password-reset throttling (core.accounts.throttle), per window of minutes.
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 10,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
    "LOGIN_THROTTLE_MINUTES": 15,
    "RESET_MAX_PER_ACCOUNT": 3,
    "RESET_MAX_PER_ADDRESS": 20,
    "RESET_LINK_MINUTES": 60,
    "APPLY_MAX_PER_ADDRESS": 10,
    # Webhooks (core.webhooks) may go to http:// and to private or loopback addresses: development
    # and tests only, never production (anyone adding a webhook could reach the internal network).
    "WEBHOOKS_ALLOW_PRIVATE": False,
}

_BOOLEAN_KEYS = {"QUEUE_IMMEDIATE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SECURE", "MAIL_USE_TLS", "MAIL_USE_SSL",
                 "WEBHOOKS_ALLOW_PRIVATE"}
_INTEGER_KEYS = {
    "TRUSTED_PROXIES",
    "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LOGIN_THROTTLE_MINUTES",
    "RESET_MAX_PER_ACCOUNT",
    "RESET_MAX_PER_ADDRESS",
    "RESET_LINK_MINUTES",
    "APPLY_MAX_PER_ADDRESS",
    "MAIL_PORT",
    "MAIL_TIMEOUT",
    "QUEUE_WORKERS",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "MAX_CONTENT_LENGTH",
    "ARGON2_TIME_COST",
    "ARGON2_MEMORY_COST",
    "ARGON2_PARALLELISM",
}

# MAIL_PORT 0 means "the usual port"; TRUSTED_PROXIES 0 means "none".
_ZERO_ALLOWED = {"MAIL_PORT", "TRUSTED_PROXIES"}


def instance_path_from_env() -> Path:
    """The instance folder: REDUMBRELLA_INSTANCE_PATH, else ./instance."""
    return Path(os.environ.get(f"{ENV_PREFIX}_INSTANCE_PATH") or "instance").resolve()


def load_config(app, overrides: dict | None = None) -> None:
    """Fill app.config from defaults, the instance file, the environment and overrides, then check it."""
    app.config.update(DEFAULTS)
    config_file = Path(app.instance_path) / CONFIG_FILE_NAME
    if config_file.exists():
        try:
            values = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file} is not valid TOML: {exc}") from None
        _check_file_values(config_file, values)
        app.config.from_mapping(values)
    app.config.from_prefixed_env(ENV_PREFIX, loads=_loads)
    if overrides:
        app.config.update(overrides)
    _check(app)


def _check_file_values(config_file: Path, values: dict) -> None:
    """Catch what Flask would silently ignore or what would fail later: lower-case names, wrong types."""
    for key, value in values.items():
        if key != key.upper():
            raise ConfigError(f"{config_file}: setting names are upper case: write {key.upper()}, not {key}")
        default = DEFAULTS.get(key)
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{config_file}: {key} must be text in quotes, not {value!r}")
        if isinstance(default, list) and not isinstance(value, list | str):
            raise ConfigError(f'{config_file}: {key} must be a list such as ["en", "es"], not {value!r}')
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{config_file}: {key} must list text in quotes, not {value!r}")


def _loads(value: str):
    """Environment values stay strings; _check converts them, so errors name the variable."""
    return value


def _check(app) -> None:
    config = app.config
    for key in _BOOLEAN_KEYS:
        config[key] = _as_bool(key, config[key])
    for key in _INTEGER_KEYS:
        config[key] = _as_int(key, config[key])
        if config[key] < (0 if key in _ZERO_ALLOWED else 1):
            raise ConfigError(f"{ENV_PREFIX}_{key} must be a positive whole number, not {config[key]}")

    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'redumbrella.sqlite3'}"
    scheme = urlparse(config["DATABASE_URL"]).scheme.split("+")[0]
    if scheme not in {"sqlite", "postgres", "postgresql"}:
        raise ConfigError(
            f"{ENV_PREFIX}_DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme or 'nothing'}:"
        )
    if config["REDIS_URL"] and urlparse(config["REDIS_URL"]).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{ENV_PREFIX}_REDIS_URL must start with redis:// or rediss://")
    from core.installation import check_drivers

    check_drivers(config)  # the PostgreSQL and Redis drivers are extras: name the one to install

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
    variant = config["ENGLISH_VARIANT"]
    try:
        known = Locale.parse(variant).language == "en"
    except (ValueError, UnknownLocaleError):
        known = False
    if not known:
        raise ConfigError(f"{ENV_PREFIX}_ENGLISH_VARIANT must be an English locale such as en_GB or en_US, "
                          f"not {variant}")
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    config["BABEL_DEFAULT_TIMEZONE"] = config["DEFAULT_TIMEZONE"]
    _check_web(config)

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
    _check_mail(config)


def _check_web(config) -> None:
    """Settings Flask and Flask-WTF would otherwise only trip over on the first request."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(config["DEFAULT_TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{ENV_PREFIX}_DEFAULT_TIMEZONE must be a time zone such as Europe/London, "
            f"not {config['DEFAULT_TIMEZONE']!r}"
        ) from None
    if config["SESSION_COOKIE_SAMESITE"] not in {"Lax", "Strict"}:
        raise ConfigError(f"{ENV_PREFIX}_SESSION_COOKIE_SAMESITE must be Lax or Strict")
    limit = config["WTF_CSRF_TIME_LIMIT"]
    if limit not in (None, ""):
        config["WTF_CSRF_TIME_LIMIT"] = _as_int("WTF_CSRF_TIME_LIMIT", limit)
    else:
        config["WTF_CSRF_TIME_LIMIT"] = None
    exit_url = urlparse(str(config["QUICK_EXIT_URL"]))
    if exit_url.scheme not in {"http", "https"} or not exit_url.netloc:
        raise ConfigError(f"{ENV_PREFIX}_QUICK_EXIT_URL must be a full address starting with https://")
    if config["BLIND_INDEX_KEY"] and len(str(config["BLIND_INDEX_KEY"])) < 16:
        raise ConfigError(f"{ENV_PREFIX}_BLIND_INDEX_KEY must be at least 16 characters long")
    audit_keys = [key.strip() for key in str(config["AUDIT_KEYS"]).split(",") if key.strip()]
    if any(len(key) < 32 for key in audit_keys):
        raise ConfigError(f"{ENV_PREFIX}_AUDIT_KEYS must be keys of at least 32 characters each, separated by commas")


def _check_mail(config) -> None:
    """Mail settings: a backend that can work, one way of encrypting, a port and a sender."""
    backend = str(config["MAIL_BACKEND"] or ("smtp" if config["MAIL_SERVER"] else "file")).lower()
    if backend not in {"smtp", "file"}:
        raise ConfigError(f"{ENV_PREFIX}_MAIL_BACKEND must be smtp or file, not {config['MAIL_BACKEND']!r}")
    config["MAIL_BACKEND"] = backend
    if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
        raise ConfigError(f"{ENV_PREFIX}_MAIL_USE_TLS and {ENV_PREFIX}_MAIL_USE_SSL cannot both be on: choose one")
    if backend == "smtp" and not config["MAIL_SERVER"]:
        raise ConfigError(f"{ENV_PREFIX}_MAIL_SERVER must name the SMTP server when {ENV_PREFIX}_MAIL_BACKEND is smtp")
    if not config["MAIL_PORT"]:
        config["MAIL_PORT"] = 465 if config["MAIL_USE_SSL"] else 587 if config["MAIL_USE_TLS"] else 25
    if not 0 < config["MAIL_PORT"] < 65536:
        raise ConfigError(f"{ENV_PREFIX}_MAIL_PORT must be a port number between 1 and 65535")
    if config["MAIL_USERNAME"] and not config["MAIL_PASSWORD"]:
        raise ConfigError(f"{ENV_PREFIX}_MAIL_PASSWORD must be set when {ENV_PREFIX}_MAIL_USERNAME is")
    sender = config["MAIL_DEFAULT_SENDER"]
    if not sender:
        if backend == "smtp":
            raise ConfigError(f"{ENV_PREFIX}_MAIL_DEFAULT_SENDER must be set, for example 'Notes <notes@example.org>'")
        config["MAIL_DEFAULT_SENDER"] = "no-reply@localhost"
    elif "@" not in str(sender):
        raise ConfigError(f"{ENV_PREFIX}_MAIL_DEFAULT_SENDER must be an email address, not {sender!r}")
    base_url = check_base_url(config["BASE_URL"])
    if backend == "smtp" and not base_url:
        # Every e-mail carries a link, and the queue that sends them runs outside any request: without
        # the address people use, approvals, invitations and password resets would all fail.
        raise ConfigError(
            f"{ENV_PREFIX}_BASE_URL must be set when mail is sent over SMTP: e-mails carry links to this "
            "site, so give the address people use, such as https://safety.example.org"
        )
    config["BASE_URL"] = base_url


def check_base_url(value) -> str:
    """BASE_URL without its trailing slash; empty stays empty, anything not a full address is refused."""
    base_url = str(value or "").strip().rstrip("/")
    if not base_url:
        return ""
    parsed = urlparse(base_url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or parsed.query or parsed.fragment:
        raise ConfigError(
            f"{ENV_PREFIX}_BASE_URL must be a full address starting with https:// (or http:// for a test "
            f"machine), such as https://safety.example.org, not {base_url!r}"
        )
    return base_url


def add_to_config_file(instance: Path, key: str, value: str, comment: str) -> tuple[Path, str]:
    """Write KEY = "value" at the top of the instance's config.toml (made if missing, owner-only),
    unless the file sets KEY already. Returns the file and the value it now holds for KEY (another
    command's, when one set it first).

    At the top, because a line added at the end would fall inside the file's last [table]. Two
    commands doing this at once (two `init` as two containers start) take turns on a lock of the
    instance folder, and the second finds the key set: a key written twice is a file TOML refuses.
    """
    import fcntl
    import json

    instance = Path(instance)
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = instance / CONFIG_FILE_NAME
    folder = os.open(instance, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        try:
            found = tomllib.loads(old)
        except tomllib.TOMLDecodeError:
            found = {}  # written as it always was: the start that reads it names the problem
        if key in found:
            return path, str(found[key])
        # A JSON string of ASCII text is a valid TOML basic string.
        _write_whole(path, f"# {comment}\n{key} = {json.dumps(value)}\n" + ("\n" + old if old else ""))
    finally:
        os.close(folder)  # and with it the lock
    return path, value


def _write_whole(path: Path, text: str) -> None:
    """The file as a whole, so that a process starting at that moment never reads half of it: a new
    file beside the real one (a config.toml that is a link keeps pointing where it did), with the old
    one's mode and owner, synced, then renamed over it. Where no file can be made beside it (a
    folder this process cannot write), the old file is rewritten in place, as it was before."""
    import stat

    target = path.resolve()
    try:
        before = os.stat(target)
    except FileNotFoundError:
        before = None
    fresh = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(fresh, flags, 0o600)
    except PermissionError:
        if before is None:
            raise
        descriptor, fresh = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC), None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        if fresh is not None and before is not None:
            os.fchmod(descriptor, stat.S_IMODE(before.st_mode))
            if os.geteuid() == 0:
                os.fchown(descriptor, before.st_uid, before.st_gid)
        handle.write(text)
        handle.flush()
        os.fsync(descriptor)
    if fresh is not None:
        os.replace(fresh, target)


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
        instance.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it a moment ago
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
