"""Shared pieces of every payload: the version field, UTC timestamps, JSON codec.

Receivers ignore fields they do not know, so a newer sender can add optional fields
without breaking older nodes; anything incompatible bumps the topic prefix (`loa/v2`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from protocol.topics import ID_PATTERN

MAX_PAYLOAD_BYTES = 64 * 1024
"""Anything larger on a Loa report topic (state, events, telemetry, timeline) is garbage;
refuse before parsing. Reports never carry audio, so the tight limit stays."""

MAX_COMMAND_PAYLOAD_BYTES = 192 * 1024
"""Limit for a signed command envelope on a `.../cmd` topic. Larger than the report limit
only because an emergency play may carry its audio inline (`AudioRef.data`, at most
`protocol.commands.MAX_INLINE_AUDIO_BYTES` before base64); every other command is a
few hundred bytes."""


class ProtocolError(ValueError):
    """A payload that does not follow the protocol. Receivers log it and carry on."""


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
"""ISO 8601 with an offset on the wire; always UTC once parsed."""



def utcnow() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1
    """Protocol version; receivers drop payloads of a version they do not speak."""

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


P = TypeVar("P", bound=Payload)


def decode(model: type[P], raw: bytes | str, limit: int = MAX_PAYLOAD_BYTES) -> P:
    """Parse one payload, turning every kind of garbage into ProtocolError.

    `limit` is the largest payload accepted: the report limit unless the caller knows it
    is reading a command (`MAX_COMMAND_PAYLOAD_BYTES`)."""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > limit:
        raise ProtocolError(f"payload of {len(raw)} bytes exceeds {limit}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        raise ProtocolError(f"invalid {model.__name__}: {where}: {first.get('msg')}") from None


__all__ = [
    "ID_PATTERN",
    "MAX_COMMAND_PAYLOAD_BYTES",
    "MAX_PAYLOAD_BYTES",
    "Payload",
    "ProtocolError",
    "UtcDatetime",
    "decode",
    "utcnow",
]
