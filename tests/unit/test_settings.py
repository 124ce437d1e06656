"""The accounts file and environment settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hp_archive.errors import AuthenticationError, ConfigError
from hp_archive.settings import Secret, Settings, load_accounts, parse_accounts

GOOD = """
accounts:
  - id: hppd-facebook
    platform: facebook
    handle: "104857600000001"
    token_env: HP_FACEBOOK_TOKEN
    series: social-media
    series_by_kind: {comment: public-comments}
"""


def test_accounts_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(GOOD)
    [account] = load_accounts(path)
    assert account.id == "hppd-facebook"
    assert account.series_for("post") == "social-media"
    assert account.series_for("comment") == "public-comments"
    assert account.lookback_days == 30


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"id": "Bad Id", "platform": "facebook", "handle": "1"},
            "entry 1 (id 'Bad Id'), field 'id': must be",
        ),
        (
            {"id": "a", "platform": "myspace", "handle": "1"},
            "field 'platform': unknown platform 'myspace'",
        ),
        ({"id": "a", "platform": "facebook"}, "field 'handle'"),
        ({"id": "a", "platform": "facebook", "handle": "1", "token": "EAAB"}, "field 'token'"),
        (
            {"id": "a", "platform": "facebook", "handle": "1", "token_env": "EAAB-xyz.secret"},
            "NAME of an environment variable",
        ),
        (
            {"id": "a", "platform": "facebook", "handle": "1", "base_url": "ftp://x"},
            "field 'base_url'",
        ),
        (
            {"id": "a", "platform": "facebook", "handle": "1", "base_url": "https://u:p@x"},
            "must not contain credentials",
        ),
    ],
)
def test_bad_entries_name_the_entry_and_field(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_accounts([entry])


def test_duplicate_ids_and_bad_yaml(tmp_path: Path) -> None:
    entry = {"id": "a", "platform": "facebook", "handle": "1"}
    with pytest.raises(ConfigError, match=r"entry 2 .*duplicate account id 'a'"):
        parse_accounts([entry, entry])
    path = tmp_path / "accounts.yaml"
    path.write_text("accounts: [\n  - id: a\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_accounts(path)
    with pytest.raises(ConfigError, match="does not exist: run 'hp-archive init'"):
        load_accounts(tmp_path / "missing.yaml")


def test_token_is_read_from_the_named_variable_and_never_printed() -> None:
    [account] = parse_accounts([{"id": "a", "platform": "facebook", "handle": "1", "token_env": "TOK"}])
    token = account.read_token({"TOK": "EAAB-super-secret"})
    assert token is not None and token.reveal() == "EAAB-super-secret"
    assert "super-secret" not in repr(token) + str(token) + f"{token}"
    with pytest.raises(AuthenticationError, match="no token in environment variable TOK"):
        account.read_token({})
    assert repr(Secret("x")) == "Secret('********')"


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env({"HP_ARCHIVE_HOME": str(tmp_path)})
    assert settings.storage_url == (tmp_path / "store").as_uri()
    assert settings.database_url == f"sqlite:///{tmp_path / 'index.sqlite'}"
    assert settings.accounts_path == tmp_path / "accounts.yaml"
    custom = Settings.from_env(
        {
            "HP_ARCHIVE_HOME": str(tmp_path),
            "HP_ARCHIVE_STORAGE_URL": "s3://records/hp",
            "HP_ARCHIVE_REQUIRE_OBJECT_LOCK": "1",
        }
    )
    assert custom.storage_url == "s3://records/hp" and custom.require_object_lock
    with pytest.raises(ConfigError):
        Settings.from_env({"HP_ARCHIVE_REQUIRE_OBJECT_LOCK": "maybe"})
