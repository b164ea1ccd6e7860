#!/usr/bin/env python3
"""ES256 (ECDSA on P-256 with SHA-256) in the Python standard library, for the fixture.

The `auth/client-credentials-jwt` scenario needs what the official suite gets from
`jose`: a fresh P-256 key pair per run, its private key as a PKCS#8 PEM (the scenario's
context, handed to the client), and the verification of the client's signed JWT
assertion. The directory's rule is no packages (see fakes.py), so the curve arithmetic is
here: Jacobian coordinates, affine only at the end. Signing is here too, for the
self-test and for throwaway test clients; nothing here is constant-time, and none of it
is meant for anything but a test fixture's throwaway keys.

    python3 es256.py --self-test     # sign/verify round trip, tampering refused, DER re-read

JWS compact serialization (RFC 7515) with the JWA ES256 signature: the raw 64 bytes r||s
(RFC 7518 §3.4), not DER.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import time
from typing import Any

# ---------------------------------------------------------------------------------------
# The curve (SEC 2 / FIPS 186-4 P-256, a.k.a. secp256r1, prime256v1)
# ---------------------------------------------------------------------------------------

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5

Point = tuple[int, int]  # affine (x, y); None is the point at infinity
_Jacobian = tuple[int, int, int]  # (X, Y, Z): x = X/Z², y = Y/Z³; Z == 0 is infinity


def on_curve(point: Point) -> bool:
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _double(p: _Jacobian) -> _Jacobian:
    x, y, z = p
    if z == 0 or y == 0:
        return (0, 1, 0)
    # a = -3: M = 3(X - Z²)(X + Z²)
    zz = z * z % P
    m = 3 * (x - zz) * (x + zz) % P
    yy = y * y % P
    s = 4 * x * yy % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y * z % P
    return (x3, y3, z3)


def _add(p: _Jacobian, q: _Jacobian) -> _Jacobian:
    x1, y1, z1 = p
    x2, y2, z2 = q
    if z1 == 0:
        return q
    if z2 == 0:
        return p
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    if u1 == u2:
        return _double(p) if s1 == s2 else (0, 1, 0)
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    z3 = h * z1 * z2 % P
    return (x3, y3, z3)


def _affine(p: _Jacobian) -> Point | None:
    x, y, z = p
    if z == 0:
        return None
    zinv = pow(z, -1, P)
    zz = zinv * zinv % P
    return (x * zz % P, y * zz * zinv % P)


def _multiply(k: int, point: Point) -> _Jacobian:
    result: _Jacobian = (0, 1, 0)
    addend: _Jacobian = (point[0], point[1], 1)
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _double(addend)
        k >>= 1
    return result


def public_key(d: int) -> Point:
    """Q = d·G."""
    if not 1 <= d < N:
        raise ValueError("private scalar out of range")
    q = _affine(_multiply(d, (GX, GY)))
    assert q is not None
    return q


def generate_private_key() -> int:
    """A uniformly random scalar in [1, n-1] (secrets: the OS's CSPRNG)."""
    return secrets.randbelow(N - 1) + 1


# ---------------------------------------------------------------------------------------
# ECDSA-SHA256 (FIPS 186-4 §6), signatures as raw r||s (JWA ES256)
# ---------------------------------------------------------------------------------------


def _digest_scalar(message: bytes) -> int:
    # SHA-256 is exactly 256 bits, the bit length of n: no truncation needed.
    return int.from_bytes(hashlib.sha256(message).digest(), "big")


def sign(d: int, message: bytes) -> bytes:
    """ECDSA-SHA256 with a random nonce; returns r||s, 32 bytes each."""
    e = _digest_scalar(message)
    while True:
        k = secrets.randbelow(N - 1) + 1
        point = _affine(_multiply(k, (GX, GY)))
        assert point is not None
        r = point[0] % N
        if r == 0:
            continue
        s = pow(k, -1, N) * (e + r * d) % N
        if s == 0:
            continue
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(public: Point, message: bytes, signature: bytes) -> bool:
    """ECDSA-SHA256 verification of a raw r||s signature."""
    if len(signature) != 64 or not on_curve(public):
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < N and 1 <= s < N):
        return False
    w = pow(s, -1, N)
    u1 = _digest_scalar(message) * w % N
    u2 = r * w % N
    point = _affine(_add(_multiply(u1, (GX, GY)), _multiply(u2, public)))
    return point is not None and point[0] % N == r


# ---------------------------------------------------------------------------------------
# DER: just enough for PKCS#8 EC keys and ECDSA-Sig-Value
# ---------------------------------------------------------------------------------------

OID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
OID_PRIME256V1 = bytes.fromhex("06082a8648ce3d030107")  # 1.2.840.10045.3.1.7


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        encoded = bytes([length])
    else:
        raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
        encoded = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + encoded + content


def _der_integer(value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")  # a leading 0 keeps it positive
    return _tlv(0x02, raw)


def _read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, offset after) of the DER element at `offset`."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[offset : offset + length], offset + length


def _children(content: bytes) -> list[tuple[int, bytes]]:
    items, offset = [], 0
    while offset < len(content):
        tag, value, offset = _read_tlv(content, offset)
        items.append((tag, value))
    return items


def pkcs8_der(d: int) -> bytes:
    """PrivateKeyInfo (RFC 5208) wrapping an ECPrivateKey (RFC 5915) with its public key."""
    x, y = public_key(d)
    ec_private_key = _tlv(
        0x30,
        _der_integer(1)
        + _tlv(0x04, d.to_bytes(32, "big"))
        + _tlv(0xA1, _tlv(0x03, b"\x00\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big"))),
    )
    algorithm = _tlv(0x30, OID_EC_PUBLIC_KEY + OID_PRIME256V1)
    return _tlv(0x30, _der_integer(0) + algorithm + _tlv(0x04, ec_private_key))


def pkcs8_pem(d: int) -> str:
    body = base64.b64encode(pkcs8_der(d)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def load_pkcs8_pem(pem: str) -> int:
    """The private scalar of a PKCS#8 P-256 key (the shape pkcs8_pem and jose write)."""
    begin, end = "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"
    if begin not in pem or end not in pem:
        raise ValueError("not a PKCS#8 PEM private key")
    body = pem.split(begin, 1)[1].split(end, 1)[0]
    der = base64.b64decode("".join(body.split()), validate=True)
    tag, content, rest = _read_tlv(der, 0)
    if tag != 0x30 or rest != len(der):
        raise ValueError("PrivateKeyInfo is not one SEQUENCE")
    fields = _children(content)
    if len(fields) < 3 or fields[0] != (0x02, b"\x00") or fields[1][0] != 0x30 or fields[2][0] != 0x04:
        raise ValueError("unexpected PrivateKeyInfo")
    algorithm = b"".join(_tlv(t, v) for t, v in _children(fields[1][1]))
    if algorithm != OID_EC_PUBLIC_KEY + OID_PRIME256V1:
        raise ValueError("not an EC P-256 key")
    tag, inner, rest = _read_tlv(fields[2][1], 0)
    ec = _children(inner)
    if tag != 0x30 or len(ec) < 2 or ec[0] != (0x02, b"\x01") or ec[1][0] != 0x04 or len(ec[1][1]) != 32:
        raise ValueError("unexpected ECPrivateKey")
    d = int.from_bytes(ec[1][1], "big")
    if not 1 <= d < N:
        raise ValueError("private scalar out of range")
    for tag, value in ec[2:]:
        if tag == 0xA1:  # the public key, when present, must be d·G
            x, y = public_key(d)
            if _children(value) != [(0x03, b"\x00\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big"))]:
                raise ValueError("the embedded public key is not the private key's")
    return d


def der_signature_to_raw(der: bytes) -> bytes:
    """ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (what openssl writes) -> r||s."""
    tag, content, rest = _read_tlv(der, 0)
    parts = _children(content)
    if tag != 0x30 or rest != len(der) or len(parts) != 2 or any(t != 0x02 for t, _ in parts):
        raise ValueError("not an ECDSA-Sig-Value")
    r, s = (int.from_bytes(v, "big") for _, v in parts)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# ---------------------------------------------------------------------------------------
# JWS compact serialization
# ---------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws_sign(d: int, payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    head = {"alg": "ES256", "typ": "JWT"} | (header or {})
    signing_input = f"{b64url(json.dumps(head, separators=(',', ':')).encode())}.{b64url(json.dumps(payload, separators=(',', ':')).encode())}"
    return f"{signing_input}.{b64url(sign(d, signing_input.encode('ascii')))}"


def jws_verify(token: str, public: Point) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS signed with ES256 by `public`; ValueError otherwise."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise ValueError("not a compact JWS (three base64url parts)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError as error:
        raise ValueError(f"malformed JWS: {error}") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ValueError("JWS header and payload must be JSON objects")
    if header.get("alg") != "ES256":
        raise ValueError(f"alg must be ES256 (got {header.get('alg')!r})")
    if "crit" in header:
        raise ValueError("unsupported crit header")
    if not verify(public, f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
        raise ValueError("signature verification failed")
    return header, payload


# ---------------------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------------------


def self_test() -> int:
    started = time.monotonic()
    # Known answer: d = 1 gives G; n·G is infinity; the curve order is right.
    assert public_key(1) == (GX, GY)
    assert _affine(_multiply(N, (GX, GY))) is None
    assert on_curve((GX, GY))

    d = generate_private_key()
    public = public_key(d)
    assert on_curve(public)
    message = b"tokenbroker conformance"
    signature = sign(d, message)
    assert verify(public, message, signature), "a fresh signature must verify"
    assert not verify(public, message + b"!", signature), "a tampered message must be refused"
    flipped = bytearray(signature)
    flipped[10] ^= 1
    assert not verify(public, message, bytes(flipped)), "a tampered signature must be refused"
    assert not verify(public_key(generate_private_key()), message, signature), "another key must be refused"

    # PKCS#8 round trip.
    pem = pkcs8_pem(d)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert load_pkcs8_pem(pem) == d

    # JWS round trip and a tampered payload.
    token = jws_sign(d, {"iss": "c", "sub": "c", "aud": "https://as.example", "exp": int(time.time()) + 60})
    header, payload = jws_verify(token, public)
    assert header["alg"] == "ES256" and payload["iss"] == "c"
    head, _, sig = token.split(".")
    forged = f"{head}.{b64url(json.dumps({'iss': 'mallory', 'sub': 'c'}).encode())}.{sig}"
    try:
        jws_verify(forged, public)
    except ValueError:
        pass
    else:
        raise AssertionError("a tampered JWT payload must be refused")

    # DER signature conversion (what openssl dgst -sign writes).
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert der_signature_to_raw(_tlv(0x30, _der_integer(r) + _der_integer(s))) == signature

    print(f"es256 self-test: ok ({time.monotonic() - started:.2f} s)")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    print("usage: es256.py --self-test", file=sys.stderr)
    sys.exit(2)
