"""The WACZ anonymous signature as ReplayWeb.page checks it, and the manifest format."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hp_archive.ediscovery.export.manifest import digest_bytes, manifest_bytes, parse_manifest
from hp_archive.ediscovery.export.wacz import sign_hash, verify_signed_data


def signed(text: str) -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP384R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"hash": text, "signature": sign_hash(key, text), "publicKey": base64.b64encode(public).decode()}


def test_signature_is_p1363_ecdsa_p384_sha256_over_the_hash_string() -> None:
    data = signed("sha256:abc")
    raw = base64.b64decode(data["signature"])
    assert len(raw) == 96  # r||s, 48 bytes each, as WebCrypto produces and verifies
    public = serialization.load_der_public_key(base64.b64decode(data["publicKey"]))
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp384r1"
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    public.verify(der, b"sha256:abc", ec.ECDSA(hashes.SHA256()))  # raises if wrong
    assert verify_signed_data(data)


def test_a_changed_hash_or_signature_does_not_verify() -> None:
    data = signed("sha256:abc")
    assert not verify_signed_data({**data, "hash": "sha256:abd"})
    raw = bytearray(base64.b64decode(data["signature"]))
    raw[5] ^= 1
    assert not verify_signed_data({**data, "signature": base64.b64encode(bytes(raw)).decode()})
    assert not verify_signed_data({**data, "publicKey": "bm90IGEga2V5"})


def test_manifest_round_trips_and_refuses_damage() -> None:
    entries = {"b/x.txt": digest_bytes(b"x"), "a.txt": digest_bytes(b"")}
    data = manifest_bytes(entries)
    assert data.decode().splitlines()[1].startswith("a.txt\t0\td41d8cd98f00b204e9800998ecf8427e\t")
    assert parse_manifest(data) == entries
    with pytest.raises(ValueError, match="header"):
        parse_manifest(b"path\tsize\n")
    with pytest.raises(ValueError, match="line 2"):
        parse_manifest(data.replace(b"\t0\t", b"\tzero\t"))
