"""Ed25519 signatures on commands, so a node obeys only the controller.

The MQTT broker authenticates clients, but a node must not trust the broker alone: a
leaked broker password or a compromised broker must not be able to make a hamlet's
speakers say anything. Every command therefore travels in an envelope

    {"v": 1, "kid": "<key id>", "sig": "<base64url signature>", "cmd": "<command JSON>"}

where the signature covers `topic + "\\n" + cmd` as UTF-8 bytes. Signing the exact
string (not a re-serialisation) keeps verification language-independent, and including
the topic stops a command for one node from being replayed onto a whole zone's topic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.base import MAX_COMMAND_PAYLOAD_BYTES, ProtocolError, decode
from protocol.commands import Command


class SignatureError(ProtocolError):
    """Envelope intact but not signed by a key the node trusts."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (private file mode 0600) and return its key id."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return key_id(key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def _signed_bytes(topic: str, cmd_json: str) -> bytes:
    return topic.encode() + b"\n" + cmd_json.encode()


class Signer:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.kid = key_id(private_key.public_key())

    def seal(self, topic: str, command: Command) -> bytes:
        cmd_json = command.to_json().decode()
        sig = self._key.sign(_signed_bytes(topic, cmd_json))
        return json.dumps(
            {"v": 1, "kid": self.kid, "sig": _b64(sig), "cmd": cmd_json}, separators=(",", ":")
        ).encode()


class Verifier:
    """Opens envelopes signed by any of the trusted keys (more than one during rotation)."""

    def __init__(self, public_keys: list[Ed25519PublicKey]) -> None:
        if not public_keys:
            raise ValueError("a verifier needs at least one trusted public key")
        self._keys = {key_id(k): k for k in public_keys}

    def open(self, topic: str, raw: bytes) -> Command:
        # Checked before parsing: a command may carry inline emergency audio, nothing more.
        if len(raw) > MAX_COMMAND_PAYLOAD_BYTES:
            raise ProtocolError(f"envelope of {len(raw)} bytes exceeds {MAX_COMMAND_PAYLOAD_BYTES}")
        try:
            env = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ProtocolError(f"envelope is not JSON: {exc}") from None
        if not isinstance(env, dict) or env.get("v") != 1:
            raise ProtocolError("envelope must be a JSON object with v=1")
        kid, sig, cmd_json = env.get("kid"), env.get("sig"), env.get("cmd")
        if not all(isinstance(x, str) for x in (kid, sig, cmd_json)):
            raise ProtocolError("envelope needs string fields kid, sig and cmd")
        key = self._keys.get(kid)
        if key is None:
            raise SignatureError(f"unknown signing key {kid!r}")
        try:
            key.verify(_unb64(sig), _signed_bytes(topic, cmd_json))
        except (InvalidSignature, ValueError):
            raise SignatureError("signature does not match topic and command") from None
        return decode(Command, cmd_json, limit=MAX_COMMAND_PAYLOAD_BYTES)
