"""Removing credentials from request records and target URIs.

Only ``request`` blocks are redacted (DESIGN invariant 1): header values such as Authorization and
Cookie, and the values of token-like query parameters. Each redaction is listed so the record can
state it. The secret values themselves are also removed wherever else they occur in the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "REDACTED"

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-goog-api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
    }
)

SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "token",
        "oauth_token",
        "key",
        "api_key",
        "apikey",
        "client_secret",
        "appsecret_proof",
        "password",
        "refresh_token",
        "id_token",
    }
)


@dataclass(frozen=True)
class Redaction:
    """A redacted block and the list of what was removed (names only, never values)."""

    data: bytes
    removed: tuple[str, ...]

    @property
    def note(self) -> str:
        """One line for the record's redaction header."""
        return "; ".join(self.removed)


def redact_url(url: str, secrets: Iterable[str] = ()) -> tuple[str, list[str]]:
    """Replace sensitive query parameter values (and any known secret) in a URL."""
    parts = urlsplit(url)
    removed: list[str] = []
    if parts.query:
        new_pairs = []
        changed = False
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name.lower() in SENSITIVE_PARAMS and value:
                new_pairs.append(f"{quote(name, safe='')}={REDACTED}")
                removed.append(f"query parameter {name}")
                changed = True
            else:
                new_pairs.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        if changed:
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(new_pairs), parts.fragment))
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        split = urlsplit(url)
        url = urlunsplit((split.scheme, netloc, split.path, split.query, split.fragment))
        removed.append("URL user-info")
    for secret in secrets:
        if secret and secret in url:
            url = url.replace(secret, REDACTED)
            removed.append("credential value in URL")
    return url, removed


def redact_request(block: bytes, secrets: Iterable[str] = ()) -> Redaction:
    """Redact an HTTP request block: sensitive headers, query parameters and secret values."""
    secrets = [s for s in secrets if s]
    end = block.find(b"\r\n\r\n")
    head, body = (block, b"") if end < 0 else (block[: end + 4], block[end + 4 :])
    lines = head.split(b"\r\n")
    removed: list[str] = []
    out_lines: list[bytes] = []
    for number, line in enumerate(lines):
        kept = line
        if number == 0 and line:
            method, _, rest = line.partition(b" ")
            target, _, version = rest.rpartition(b" ")
            new_target, found = redact_url(target.decode("iso-8859-1"), secrets)
            removed.extend(found)
            kept = b" ".join([method, new_target.encode("iso-8859-1"), version])
        elif b":" in line:
            name, _, value = line.partition(b":")
            if name.strip().lower().decode("iso-8859-1") in SENSITIVE_HEADERS and value.strip():
                kept = name + b": " + _auth_scheme(value) + REDACTED.encode()
                removed.append(f"header {name.strip().decode('iso-8859-1')}")
        out_lines.append(kept)
    data = b"\r\n".join(out_lines) + body
    for secret in secrets:
        encoded = secret.encode("utf-8")
        if encoded in data:
            data = data.replace(encoded, REDACTED.encode())
            removed.append("credential value")
    return Redaction(data=data, removed=tuple(dict.fromkeys(removed)))


def contains_secret(data: bytes, secrets: Iterable[str]) -> bool:
    """True if any non-empty secret occurs in ``data``."""
    return any(s and s.encode("utf-8") in data for s in secrets)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """Replace secret values in a message or log line."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


_SCHEME = re.compile(rb"^\s*(Bearer|OAuth|Basic|Token|Digest)\s+", re.IGNORECASE)


def _auth_scheme(value: bytes) -> bytes:
    """Keep the scheme word of an Authorization value ("Bearer "), drop the credential."""
    match = _SCHEME.match(value)
    return match.group(1) + b" " if match else b""
