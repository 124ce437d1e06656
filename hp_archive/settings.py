"""Configuration: environment variables, the accounts file, and the paths derived from them.

Everything is read once into immutable objects; library code receives these objects and never
reads the environment itself (except :meth:`Account.read_token`, the one place a secret is read).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hp_archive.errors import AuthenticationError, ConfigError

DEFAULT_HOME = "./hp-archive-data"
DEFAULT_TIMEZONE = "America/Chicago"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KINDS = ("post", "comment", "reply", "media", "page")


class Secret:
    """A credential that never prints itself (repr, str, f-strings, logs, tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; only for building an Authorization header."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class AccountModel(BaseModel):
    """One entry of the accounts file, as validated from YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    platform: str
    handle: str
    base_url: str | None = None
    token_env: str | None = None
    token_conn: str | None = None
    series: str = "social-media"
    series_by_kind: dict[str, str] = Field(default_factory=dict)
    lookback_days: int = Field(default=30, ge=0, le=3650)
    display_name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("must be 1-63 characters of a-z, 0-9, '-' or '_', starting alphanumeric")
        return value

    @field_validator("series")
    @classmethod
    def _series_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("must be 1-63 characters of a-z, 0-9, '-' or '_'")
        return value

    @field_validator("series_by_kind")
    @classmethod
    def _series_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, series in value.items():
            if kind not in KINDS and kind != "media-file":
                raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
            if not ID_PATTERN.match(series):
                raise ValueError(f"series {series!r} for {kind!r} must be a-z, 0-9, '-' or '_'")
        return value

    @field_validator("token_conn")
    @classmethod
    def _token_conn_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z0-9_.-]{1,250}$", value):
            raise ValueError("must be an Airflow connection id (letters, digits, '_', '.', '-')")
        return value

    @field_validator("token_env")
    @classmethod
    def _token_env_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("must be the NAME of an environment variable holding the token, not the token")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://graph.facebook.com")
        if parts.username or parts.password:
            raise ValueError("must not contain credentials; put the token in token_env")
        return value.rstrip("/")


@dataclass(frozen=True)
class Account:
    """A department account the archive captures."""

    id: str
    platform: str
    handle: str
    base_url: str | None = None
    token_env: str | None = None
    token_conn: str | None = None
    series: str = "social-media"
    series_by_kind: Mapping[str, str] = field(default_factory=dict)
    lookback_days: int = 30
    display_name: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def series_for(self, kind: str) -> str:
        """The record series a record of ``kind`` (post/comment/reply/media/page) belongs to."""
        return self.series_by_kind.get(kind, self.series)

    @property
    def token_key(self) -> str | None:
        """The environment name the token is read from (``token_env``, or one derived for a
        ``token_conn`` the Airflow glue fills in); None when the account needs no token."""
        if self.token_env:
            return self.token_env
        if self.token_conn:
            return "HP_ARCHIVE_TOKEN_" + re.sub(r"[^A-Z0-9]", "_", self.id.upper())
        return None

    def read_token(self, environ: Mapping[str, str] | None = None) -> Secret | None:
        """The account's token; None when it needs no token."""
        name = self.token_key
        if name is None:
            return None
        env = os.environ if environ is None else environ
        value = env.get(name, "")
        if not value:
            where = (
                f"Airflow connection '{self.token_conn}' (its password)"
                if self.token_conn
                else (f"environment variable {name}")
            )
            raise AuthenticationError(
                f"account '{self.id}' ({self.platform}): no token in {where}; put the account's "
                "access token there and re-run"
            )
        return Secret(value)


def parse_accounts(data: Any, *, origin: str = "accounts file") -> list[Account]:
    """Validate the accounts file's parsed YAML; errors name the entry and the field."""
    from hp_archive.sources import platform_names

    if isinstance(data, dict) and "accounts" in data:
        data = data["accounts"]
    if not isinstance(data, list):
        raise ConfigError(f"{origin}: expected a list of accounts (or 'accounts:' with a list)")
    accounts: list[Account] = []
    seen: set[str] = set()
    known = platform_names()
    for index, entry in enumerate(data):
        label = f"entry {index + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" (id '{entry['id']}')"
        if not isinstance(entry, dict):
            raise ConfigError(f"{origin}: {label} is not a mapping of fields")
        try:
            model = AccountModel.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "entry"
            reason = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{origin}: {label}, field '{where}': {reason}") from None
        if model.platform not in known:
            raise ConfigError(
                f"{origin}: {label}, field 'platform': unknown platform {model.platform!r}; "
                f"this build supports {', '.join(sorted(known))}"
            )
        if model.id in seen:
            raise ConfigError(f"{origin}: {label}, field 'id': duplicate account id '{model.id}'")
        seen.add(model.id)
        accounts.append(Account(**model.model_dump()))
    return accounts


def load_accounts(path: Path) -> list[Account]:
    """Read and validate an accounts YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"accounts file {path} does not exist: run 'hp-archive init' or set HP_ARCHIVE_ACCOUNTS"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"accounts file {path} is not valid YAML{where}: fix the syntax") from None
    return parse_accounts(data if data is not None else [], origin=f"accounts file {path}")


@dataclass(frozen=True)
class Settings:
    """Where the archive lives; built from the environment by :meth:`from_env`."""

    home: Path
    storage_url: str
    database_url: str
    accounts_path: Path
    s3_endpoint_url: str | None = None
    require_object_lock: bool = False
    operator: str = "hp-archive"
    timezone: str = DEFAULT_TIMEZONE

    signing_key_file: Path | None = None

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def signing_key_path(self) -> Path:
        """The archive's Ed25519 private key (created on first use)."""
        return self.signing_key_file or self.home / "keys" / "archive-ed25519.pem"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``HP_ARCHIVE_*`` variables; unset ones default to the embedded layout."""
        env = os.environ if environ is None else environ
        home = Path(env.get("HP_ARCHIVE_HOME") or DEFAULT_HOME).expanduser().resolve()
        storage_url = env.get("HP_ARCHIVE_STORAGE_URL") or (home / "store").as_uri()
        database_url = env.get("HP_ARCHIVE_DATABASE_URL") or f"sqlite:///{home / 'index.sqlite'}"
        accounts = env.get("HP_ARCHIVE_ACCOUNTS") or str(home / "accounts.yaml")
        lock = env.get("HP_ARCHIVE_REQUIRE_OBJECT_LOCK", "0").strip().lower()
        if lock not in ("0", "1", "true", "false", "yes", "no", ""):
            raise ConfigError("HP_ARCHIVE_REQUIRE_OBJECT_LOCK must be 0 or 1")
        return cls(
            home=home,
            storage_url=storage_url,
            database_url=database_url,
            accounts_path=Path(accounts).expanduser(),
            s3_endpoint_url=env.get("HP_ARCHIVE_S3_ENDPOINT_URL") or None,
            require_object_lock=lock in ("1", "true", "yes"),
            operator=env.get("HP_ARCHIVE_OPERATOR") or env.get("USER") or "hp-archive",
            timezone=env.get("HP_ARCHIVE_TIMEZONE") or DEFAULT_TIMEZONE,
            signing_key_file=Path(key_file).expanduser()
            if (key_file := env.get("HP_ARCHIVE_SIGNING_KEY_FILE"))
            else None,
        )
