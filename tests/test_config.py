"""Configuration (issue 2, item 2): REDUMBRELLA_* variables and instance/config.toml.

Each malformed setting stops `redumbrella plugins list` (a real process) with exit code 2 and ONE
clear line on stderr naming the setting, never a traceback. The secret key is generated once in
the instance folder, readable by its owner only, and reused. Plugins check their own settings
the same way, through the check_config hook (the alerts plugin's REDUMBRELLA_SMS_* settings).
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixtures.processes import instance_env, run_cli

from core.config import CONFIG_FILE_NAME, SECRET_KEY_FILE_NAME, ConfigError, add_to_config_file

PREFIX = "redumbrella: configuration error: "

# name: (environment settings, config.toml text or None, what the one line must say)
CASES = {
    "database_url_scheme": ({"DATABASE_URL": "mysql://u@localhost/db"}, None,
                            "REDUMBRELLA_DATABASE_URL must start with sqlite:/// or postgresql://, not mysql:"),
    "unknown_locale": ({"LOCALES": "en,es,xx"}, None, "REDUMBRELLA_LOCALES has an unknown language code: xx"),
    "default_locale_not_offered": ({"LOCALES": "en,es", "DEFAULT_LOCALE": "ro"}, None,
                                   "REDUMBRELLA_DEFAULT_LOCALE (ro) must be one of REDUMBRELLA_LOCALES (en, es)"),
    "not_an_integer": ({"QUEUE_WORKERS": "two"}, None, "REDUMBRELLA_QUEUE_WORKERS must be a whole number, not 'two'"),
    "short_secret_key": ({"SECRET_KEY": "too-short"}, None, "REDUMBRELLA_SECRET_KEY must be at least 32 characters"),
    "invalid_toml": ({}, 'DATABASE_URL = "sqlite:///x\nLOCALES = [', "config.toml is not valid TOML"),
    "default_country": ({"DEFAULT_COUNTRY": "XX"}, None,
                        "REDUMBRELLA_DEFAULT_COUNTRY must be a two-letter country code such as GB, not XX"),
    # A plugin's own setting, checked by its check_config hook (the alerts plugin is installed).
    "sms_gateway_plain_http": ({"SMS_BACKEND": "http", "SMS_GATEWAY_URL": "http://sms.example.org/Messages.json",
                                "SMS_SENDER": "Notes"}, None,
                               "REDUMBRELLA_SMS_GATEWAY_URL must be a full address starting with https:// (http:// "
                               "only for a test gateway on 127.0.0.1 or localhost)"),
}

GATEWAY = {"SMS_BACKEND": "http", "SMS_GATEWAY_URL": "https://sms.example.org/Messages.json", "SMS_SENDER": "Notes"}

# The same checks in-process (the one-line, exit-2 path is proved above): (overrides, toml, message)
MORE_CASES = {
    "no_workers": ({"QUEUE_WORKERS": "0"}, None, "REDUMBRELLA_QUEUE_WORKERS must be a positive whole number, not 0"),
    "not_a_boolean": ({"QUEUE_IMMEDIATE": "maybe"}, None, "REDUMBRELLA_QUEUE_IMMEDIATE must be true or false"),
    "redis_url_scheme": ({"REDIS_URL": "http://localhost:6379"}, None,
                         "REDUMBRELLA_REDIS_URL must start with redis:// or rediss://"),
    "no_locales": ({"LOCALES": " , "}, None, "REDUMBRELLA_LOCALES must list at least one language"),
    "log_level": ({"LOG_LEVEL": "LOUD"}, None, "REDUMBRELLA_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
    "toml_lower_case_name": ({}, 'database_url = "postgresql://db/x"\n',
                             "setting names are upper case: write DATABASE_URL, not database_url"),
    "toml_list_expected": ({}, "LOCALES = 5\n", 'LOCALES must be a list such as ["en", "es"], not 5'),
    "toml_text_expected": ({}, "DATABASE_URL = 5\n", "DATABASE_URL must be text in quotes, not 5"),
    # Settings Flask or Flask-WTF would otherwise only trip over on the first request (a 500).
    "time_zone": ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, None, "REDUMBRELLA_DEFAULT_TIMEZONE must be a time zone"),
    "same_site": ({"SESSION_COOKIE_SAMESITE": "Sometimes"}, None, "SESSION_COOKIE_SAMESITE must be Lax or Strict"),
    "csrf_time_limit": ({"WTF_CSRF_TIME_LIMIT": "an hour"}, None, "WTF_CSRF_TIME_LIMIT must be a whole number"),
    "quick_exit_url": ({"QUICK_EXIT_URL": "weather"}, None, "QUICK_EXIT_URL must be a full address"),
    "blind_index_key": ({"BLIND_INDEX_KEY": "short"}, None, "BLIND_INDEX_KEY must be at least 16 characters"),
    "throttle_limit": ({"LOGIN_MAX_FAILURES_PER_ACCOUNT": "0"}, None,
                       "REDUMBRELLA_LOGIN_MAX_FAILURES_PER_ACCOUNT must be a positive whole number"),
    "trusted_proxies": ({"TRUSTED_PROXIES": "-1"}, None, "REDUMBRELLA_TRUSTED_PROXIES must be a positive whole number"),
    # The alerts plugin's text-message settings (its check_config hook).
    "sms_unknown_backend": ({"SMS_BACKEND": "carrier-pigeon"}, None,
                            "REDUMBRELLA_SMS_BACKEND must be http, file, or a backend an installed plugin sends with "
                            "(no installed plugin sends text messages), not 'carrier-pigeon'"),
    "sms_no_gateway_url": ({"SMS_BACKEND": "http", "SMS_SENDER": "Notes"}, None,
                           "REDUMBRELLA_SMS_GATEWAY_URL must be set when REDUMBRELLA_SMS_BACKEND is http"),
    "sms_gateway_not_a_web_address": ({**GATEWAY, "SMS_GATEWAY_URL": "ftp://sms.example.org/"}, None,
                                      "REDUMBRELLA_SMS_GATEWAY_URL must be a full address starting with https://"),
    "sms_gateway_without_host": ({**GATEWAY, "SMS_GATEWAY_URL": "https:///Messages.json"}, None,
                                 "REDUMBRELLA_SMS_GATEWAY_URL must be a full address starting with https://"),
    "sms_gateway_bad_port": ({**GATEWAY, "SMS_GATEWAY_URL": "https://sms.example.org:port/"}, None,
                             "REDUMBRELLA_SMS_GATEWAY_URL must be a full address starting with https://"),
    "sms_plain_http_to_a_lookalike": ({**GATEWAY, "SMS_GATEWAY_URL": "http://localhost.example.org/"}, None,
                                      "REDUMBRELLA_SMS_GATEWAY_URL must be a full address starting with https://"),
    "sms_username_alone": ({**GATEWAY, "SMS_GATEWAY_USERNAME": "AC123"}, None,
                           "REDUMBRELLA_SMS_GATEWAY_USERNAME and REDUMBRELLA_SMS_GATEWAY_PASSWORD must both be set, "
                           "or both be empty"),
    "sms_password_alone": ({**GATEWAY, "SMS_GATEWAY_PASSWORD": "secret-token"}, None,
                           "REDUMBRELLA_SMS_GATEWAY_USERNAME and REDUMBRELLA_SMS_GATEWAY_PASSWORD must both be set"),
    "sms_no_sender": ({**GATEWAY, "SMS_SENDER": " "}, None,
                      "REDUMBRELLA_SMS_SENDER must be set when REDUMBRELLA_SMS_BACKEND is http"),
    "sms_timeout_zero": ({**GATEWAY, "SMS_GATEWAY_TIMEOUT": "0"}, None,
                         "REDUMBRELLA_SMS_GATEWAY_TIMEOUT must be a positive number of seconds, not '0'"),
    "sms_timeout_text": ({**GATEWAY, "SMS_GATEWAY_TIMEOUT": "ten"}, None,
                         "REDUMBRELLA_SMS_GATEWAY_TIMEOUT must be a positive number of seconds, not 'ten'"),
    "sms_timeout_infinite": ({**GATEWAY, "SMS_GATEWAY_TIMEOUT": "inf"}, None,
                             "REDUMBRELLA_SMS_GATEWAY_TIMEOUT must be a positive number of seconds, not 'inf'"),
    "sms_timeout_in_the_file": ({}, 'SMS_BACKEND = "http"\nSMS_GATEWAY_URL = "https://sms.example.org/"\n'
                                    'SMS_SENDER = "Notes"\nSMS_GATEWAY_TIMEOUT = -3\n',
                                "REDUMBRELLA_SMS_GATEWAY_TIMEOUT must be a positive number of seconds, not -3"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run every case at once (each is its own process), so the module costs about one start-up."""
    def run_case(name):
        settings, toml, _expected = CASES[name]
        instance = tmp_path_factory.mktemp(name) / "instance"
        instance.mkdir()
        if toml is not None:
            (instance / CONFIG_FILE_NAME).write_text(toml)
        env = instance_env(instance, f"sqlite:///{instance / 'db.sqlite3'}", **settings)
        return name, run_cli(["plugins", "list"], env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run_case, CASES))


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_setting_stops_with_one_clear_line(outcomes, case):
    result = outcomes[case]
    expected = CASES[case][2]
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(PREFIX) and expected in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("case", sorted(MORE_CASES))
def test_more_malformed_settings_are_refused_clearly(make_app, tmp_path, case):
    overrides, toml, expected = MORE_CASES[case]
    if toml is not None:
        (tmp_path / "instance").mkdir(exist_ok=True)
        (tmp_path / "instance" / CONFIG_FILE_NAME).write_text(toml)
    with pytest.raises(ConfigError) as caught:
        make_app(overrides)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_the_same_settings_when_well_formed_start_normally(database_url, app, tmp_path):
    """The control for the cases above: the same command and environment, nothing malformed."""
    instance = tmp_path / "instance"
    (instance).mkdir(exist_ok=True)
    (instance / CONFIG_FILE_NAME).write_text('SITE_NAME = "Notes"\nLOCALES = ["en", "es"]\n')
    env = instance_env(instance, database_url, LOCALES="en,es,ro", DEFAULT_LOCALE="ro", QUEUE_WORKERS="3",
                       SMS_BACKEND="http", SMS_GATEWAY_URL="https://sms.example.org/Messages.json", SMS_SENDER="Notes")
    result = run_cli(["plugins", "list"], env)
    assert result.returncode == 0, result.stderr
    assert "training" in result.stdout and result.stderr == ""


def test_well_formed_sms_settings_start_and_the_timeout_becomes_seconds(make_app):
    """The control for the SMS cases: each rule's accepted side."""
    app = make_app({**GATEWAY, "SMS_GATEWAY_USERNAME": "AC123", "SMS_GATEWAY_PASSWORD": "secret-token",
                    "SMS_GATEWAY_TIMEOUT": "2.5"})
    assert app.config["SMS_GATEWAY_TIMEOUT"] == 2.5
    assert make_app(GATEWAY).config["SMS_GATEWAY_TIMEOUT"] == 10.0  # unset: the default
    for local in ("http://127.0.0.1:8025/Messages.json", "http://localhost/send", "http://[::1]:9000/"):
        make_app({**GATEWAY, "SMS_GATEWAY_URL": local})  # a test gateway on this machine
    make_app({"SMS_BACKEND": "file"})
    make_app({"SMS_BACKEND": "", "SMS_GATEWAY_URL": "not checked: no SMS"})


def test_a_backend_name_is_accepted_once_another_plugin_sends_text_messages(make_app):
    from test_alerts_helpers import sms_test_plugin

    app = make_app({"SMS_BACKEND": "carrier-pigeon"}, extra_plugins=[sms_test_plugin()])
    assert app.config["SMS_BACKEND"] == "carrier-pigeon"


def test_every_installed_plugin_checks_its_own_settings_enabled_or_not(make_app):
    """check_config runs for a plugin that is installed but not switched on (config is the instance's)."""
    from fixtures import sample_plugin

    from core.plugins import get_registry

    sample_plugin.CALLS.clear()
    app = make_app({"SAMPLE_MAX_NOTES": "12"}, extra_plugins=[sample_plugin])
    with app.app_context():
        assert "sample" not in get_registry(app).enabled()
    assert sample_plugin.calls("check_config") == [None]
    with pytest.raises(ConfigError) as caught:
        make_app({"SAMPLE_MAX_NOTES": "many"}, extra_plugins=[sample_plugin])
    assert str(caught.value) == "REDUMBRELLA_SAMPLE_MAX_NOTES must be a whole number, not 'many'"


def test_environment_overrides_the_config_file(make_app, tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (instance / CONFIG_FILE_NAME).write_text(
        'SITE_NAME = "From the file"\nNEUTRAL_TITLE = "Notes"\nLOCALES = ["en", "ro"]\n'
    )
    monkeypatch.setenv("REDUMBRELLA_SITE_NAME", "From the environment")
    monkeypatch.setenv("REDUMBRELLA_QUEUE_WORKERS", "5")
    app = make_app()
    assert app.config["SITE_NAME"] == "From the environment"
    assert app.config["NEUTRAL_TITLE"] == "Notes"
    assert app.config["LOCALES"] == ["en", "ro"]
    assert app.config["QUEUE_WORKERS"] == 5
    page = app.test_client().get("/").get_data(as_text=True)
    assert "<title>Notes</title>" in page and "From the environment" not in page


def test_default_database_is_sqlite_in_the_instance_folder(make_app, tmp_path):
    app = make_app({"DATABASE_URL": ""})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'redumbrella.sqlite3'}"


def test_secret_key_is_generated_once_private_and_reused(make_app, tmp_path):
    key_file = tmp_path / "instance" / SECRET_KEY_FILE_NAME
    assert not key_file.exists()
    first = make_app({"SECRET_KEY": ""})
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, "only the owner may read the secret key"
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32 and key == key_file.read_text().strip()

    second = make_app({"SECRET_KEY": ""})
    assert second.config["SECRET_KEY"] == key, "the stored key is reused, so sessions survive a restart"
    # A session signed by one start is accepted by the next.
    client = first.test_client()
    client.post("/language", data={"locale": "es"})  # refused (no CSRF token), but a session exists
    with client.session_transaction() as session:
        session["probe"] = "kept"
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = second.test_client()
    other.set_cookie("session", cookie.value)
    with other.session_transaction() as session:
        assert session.get("probe") == "kept"


def test_a_csrf_time_limit_from_the_environment_becomes_a_number(make_app):
    assert make_app({"WTF_CSRF_TIME_LIMIT": "3600"}).config["WTF_CSRF_TIME_LIMIT"] == 3600
    assert make_app({"WTF_CSRF_TIME_LIMIT": ""}).config["WTF_CSRF_TIME_LIMIT"] is None


def test_gunicorn_entry_point_stops_with_its_boot_error_code(tmp_path):
    """Exit 3 makes gunicorn's master stop instead of restarting broken workers forever."""
    import subprocess
    import sys

    instance = tmp_path / "instance"
    env = instance_env(instance, f"sqlite:///{tmp_path / 'db.sqlite3'}", LOCALES="en,xx")
    result = subprocess.run([sys.executable, "-c", "import core.wsgi"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 3
    assert result.stderr.strip() == PREFIX + "REDUMBRELLA_LOCALES has an unknown language code: xx"
    # A plugin's own setting stops gunicorn the same way.
    env = instance_env(instance, f"sqlite:///{tmp_path / 'db.sqlite3'}", SMS_BACKEND="http",
                       SMS_GATEWAY_URL="https://sms.example.org/", SMS_SENDER="Notes", SMS_GATEWAY_USERNAME="AC123")
    result = subprocess.run([sys.executable, "-c", "import core.wsgi"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 3
    assert result.stderr.strip() == PREFIX + ("REDUMBRELLA_SMS_GATEWAY_USERNAME and "
                                              "REDUMBRELLA_SMS_GATEWAY_PASSWORD must both be set, or both be empty")


def _documented(fence: str, first_line: str) -> str:
    """A code block of docs/deployment.md, found by its first line."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text()
    start = text.index(f"```{fence}\n{first_line}\n")
    return text[start + len(fence) + 4:text.index("```", start + 3)]


def test_gunicorn_with_the_documented_settings_stops_with_status_3_and_systemd_is_told(tmp_path):
    """The documented gunicorn.conf.py (preload_app) under real gunicorn: exit 3 and the one line, and
    the documented units do not restart on the exit status a bad setting gives."""
    import re
    import sys

    from fixtures.processes import free_port, run

    conf = _documented("python", "# /etc/redumbrella/gunicorn.conf.py")
    assert "preload_app = True" in conf
    conf = re.sub(r'^bind = .*$', f'bind = "127.0.0.1:{free_port()}"', conf, flags=re.M)
    (tmp_path / "gunicorn.conf.py").write_text(conf)
    env = instance_env(tmp_path / "instance", f"sqlite:///{tmp_path / 'db.sqlite3'}", LOCALES="en,xx")
    result = run([sys.executable, "-m", "gunicorn", "--config", str(tmp_path / "gunicorn.conf.py"), "core.wsgi:app"],
                 env, timeout=60)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stderr.strip() == PREFIX + "REDUMBRELLA_LOCALES has an unknown language code: xx"

    web = _documented("ini", "# /etc/systemd/system/redumbrella-web.service")
    worker = _documented("ini", "# /etc/systemd/system/redumbrella-worker.service")
    assert "3" in re.search(r"^RestartPreventExitStatus=(.*)$", web, re.M).group(1).split()
    assert "2" in re.search(r"^RestartPreventExitStatus=(.*)$", worker, re.M).group(1).split()  # `redumbrella worker`



def test_init_writes_base_url_into_the_config_file_an_operator_keeps_elsewhere(tmp_path):
    """config.toml may be a link to a file kept elsewhere (managed by the operator, shared with the
    service's group): init adds BASE_URL there, keeps the link, the file's mode and what it had,
    and a second one changes nothing and names the address the file holds."""
    kept = tmp_path / "etc" / "config.toml"
    kept.parent.mkdir()
    kept.write_text('# the operator\'s own note\nSITE_NAME = "Our group"\n\n[MAIL]\nx = 1\n')
    kept.chmod(0o640)
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.toml").symlink_to(kept)
    env = instance_env(instance, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    first = run_cli(["init", "--base-url", "https://safety.example.org"], env)
    assert first.returncode == 0, first.stderr
    assert (instance / "config.toml").is_symlink()
    text = kept.read_text()
    assert text.startswith("# Where people reach the site") and 'BASE_URL = "https://safety.example.org"' in text
    assert "the operator's own note" in text and "[MAIL]" in text and kept.stat().st_mode & 0o777 == 0o640
    assert not [name for name in os.listdir(kept.parent) if name.startswith(".")], "no file left half-way"

    # Another init that started before this one wrote (it read no BASE_URL): the file wins.
    assert add_to_config_file(instance, "BASE_URL", "https://other.example.org", "note") == (
        instance / "config.toml", "https://safety.example.org")
    assert kept.read_text() == text
