"""Contract: where connection settings come from, and that the secret never shows.

Flags beat environment variables, which beat the config file (TOML with a
``[server]`` table); an unconfigured run falls back to the sandbox, but a
half-configured one is an error rather than a silent switch to the
sandbox's credentials.  TLS is verified unless the user says ``--insecure``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from importer.client import OdooClient
from importer.sandbox import ADMIN_API_KEY, ADMIN_UID, SANDBOX_DB, Sandbox
from importer.settings import ConnectionSettings, Secret, Timeout, load_settings

FILE_KEY = "file-key-3b7Q"
ENV_KEY = "env-key-8c1Z"
ENV_PASSWORD = "env-password-5d2R"
FLAG_SECRET = "flag-secret-1a9W"
SANDBOX_DEFAULT = {"url": "http://127.0.0.1:8069", "db": "openspp", "login": "admin", "password": "admin"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray spp-import.toml or SPP_* variable from the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    for name in ("SPP_URL", "SPP_DB", "SPP_LOGIN", "SPP_API_KEY", "SPP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def _config(tmp_path: Path, body: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


SERVER_TABLE = f"""
[server]
url = "https://file.example.org/"
db = "file_db"
login = "file_user"
api_key = "{FILE_KEY}"
"""

ENV = {
    "SPP_URL": "https://env.example.org",
    "SPP_DB": "env_db",
    "SPP_LOGIN": "env_user",
    "SPP_API_KEY": ENV_KEY,
}


def test_config_file_server_table_supplies_everything(tmp_path: Path) -> None:
    s = load_settings(config_file=_config(tmp_path, SERVER_TABLE), env={})
    assert (s.url, s.db, s.login) == ("https://file.example.org", "file_db", "file_user")
    assert s.secret.reveal() == FILE_KEY
    assert s.endpoint == "https://file.example.org/jsonrpc"
    assert s.verify_tls is True


def test_default_config_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    _config(tmp_path, SERVER_TABLE, name="spp-import.toml")
    assert load_settings(env={}).login == "file_user"


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        load_settings(config_file=tmp_path / "missing.toml", env={})


def test_environment_beats_the_config_file(tmp_path: Path) -> None:
    s = load_settings(config_file=_config(tmp_path, SERVER_TABLE), env=ENV)
    assert (s.url, s.db, s.login, s.secret.reveal()) == (
        "https://env.example.org",
        "env_db",
        "env_user",
        ENV_KEY,
    )


def test_environment_fills_only_what_it_names(tmp_path: Path) -> None:
    s = load_settings(config_file=_config(tmp_path, SERVER_TABLE), env={"SPP_DB": "env_db"})
    assert (s.url, s.db, s.login, s.secret.reveal()) == (
        "https://file.example.org",
        "env_db",
        "file_user",
        FILE_KEY,
    )


def test_flags_beat_the_environment_and_the_file(tmp_path: Path) -> None:
    s = load_settings(
        config_file=_config(tmp_path, SERVER_TABLE),
        env=ENV,
        url="http://flag.example.org",
        db="flag_db",
        login="flag_user",
        secret=FLAG_SECRET,
    )
    assert (s.url, s.db, s.login, s.secret.reveal()) == (
        "http://flag.example.org",
        "flag_db",
        "flag_user",
        FLAG_SECRET,
    )


def test_api_key_is_preferred_to_password_in_the_environment() -> None:
    s = load_settings(env={**ENV, "SPP_PASSWORD": ENV_PASSWORD})
    assert s.secret.reveal() == ENV_KEY
    only_password = {k: v for k, v in ENV.items() if k != "SPP_API_KEY"} | {"SPP_PASSWORD": ENV_PASSWORD}
    assert load_settings(env=only_password).secret.reveal() == ENV_PASSWORD


def test_real_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert load_settings().login == "env_user"


def test_an_unconfigured_run_uses_the_default_sandbox() -> None:
    s = load_settings(env={}, default=SANDBOX_DEFAULT)
    assert (s.url, s.db, s.login, s.secret.reveal()) == ("http://127.0.0.1:8069", "openspp", "admin", "admin")


def test_a_half_configured_server_does_not_borrow_the_sandbox_credentials() -> None:
    with pytest.raises(ValueError, match=r"missing connection setting.*login"):
        load_settings(env={"SPP_URL": "https://env.example.org", "SPP_DB": "x"}, default=SANDBOX_DEFAULT)
    s = load_settings(env={"SPP_URL": "https://env.example.org", "SPP_DB": "x", "SPP_LOGIN": "u"})
    assert not s.secret  # no secret configured: not the sandbox's "admin"


def test_nothing_configured_and_no_default_names_every_missing_setting() -> None:
    with pytest.raises(ValueError) as caught:
        load_settings(env={})
    assert str(caught.value) == "missing connection setting(s): url, db, login"


def test_tls_is_verified_unless_insecure_or_switched_off_in_the_file(tmp_path: Path) -> None:
    assert load_settings(env=ENV).verify_tls is True
    assert load_settings(env=ENV, insecure=True).verify_tls is False
    assert ConnectionSettings(url="https://x", db="d", login="l").verify_tls is True
    off = _config(tmp_path, SERVER_TABLE + "verify_tls = false\n")
    assert load_settings(config_file=off, env={}).verify_tls is False


def test_timeout_is_passed_through_and_defaults_to_a_long_read() -> None:
    assert load_settings(env=ENV, timeout=Timeout(connect=2, read=7)).timeout.as_requests() == (2, 7)
    default = load_settings(env=ENV).timeout
    assert default.connect < default.read  # a big load can take minutes; connecting cannot


def test_a_plain_string_secret_is_wrapped_and_overrides_ignore_none() -> None:
    s = ConnectionSettings(url="http://h/", db="d", login="l", secret=ENV_KEY)  # type: ignore[arg-type]
    assert isinstance(s.secret, Secret) and s.secret.reveal() == ENV_KEY and s.url == "http://h"
    changed = s.with_overrides(db="other", login=None)
    assert (changed.db, changed.login, changed.secret) == ("other", "l", s.secret)


def test_the_secret_from_every_source_stays_hidden(tmp_path: Path) -> None:
    cases = [
        load_settings(config_file=_config(tmp_path, SERVER_TABLE), env={}),
        load_settings(env=ENV),
        load_settings(env={**ENV, "SPP_API_KEY": ""} | {"SPP_PASSWORD": ENV_PASSWORD}),
        load_settings(env=ENV, secret=FLAG_SECRET),
    ]
    for s in cases:
        client = OdooClient(s)
        try:
            shown = " ".join([repr(s), str(s), s.describe(), repr(client), str(client), repr(s.secret)])
        finally:
            client.close()
        for secret in (FILE_KEY, ENV_KEY, ENV_PASSWORD, FLAG_SECRET):
            assert secret not in shown
        assert s.secret  # present, just not shown


def test_a_broken_config_file_error_does_not_quote_the_secret(tmp_path: Path) -> None:
    broken = _config(tmp_path, f'[server]\nurl = "https://x"\napi_key = "{FILE_KEY}"\nlogin = \n')
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        load_settings(config_file=broken, env={})
    assert FILE_KEY not in str(caught.value)


def test_settings_from_the_environment_log_in_to_the_sandbox_with_the_api_key() -> None:
    with Sandbox() as sb:
        env = {"SPP_URL": sb.url, "SPP_DB": SANDBOX_DB, "SPP_LOGIN": "admin", "SPP_API_KEY": ADMIN_API_KEY}
        with OdooClient(load_settings(env=env)) as client:
            assert client.authenticate() == ADMIN_UID
            assert client.search_count("g2p.group.kind") == 2
