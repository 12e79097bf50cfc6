"""What the store holds: journal records and snapshots, and the checksums that seal them.

A journal record's checksum is CRC-32 over `seq (8 bytes, big-endian) | len(kind) (4 bytes) |
kind (UTF-8) | payload`; a snapshot's is CRC-32 over `id (8) | journal_seq (8) | payload`.
Sealing the sequence number and the id means a row copied or moved to another position fails
its check, not only a row whose bytes changed.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from daemon.persistence.errors import StoreUsageError

KIND_SLICE = "slice"
KIND_COMMAND = "command"
_KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
_RECORD_HEADER = struct.Struct(">qI")
_SNAPSHOT_HEADER = struct.Struct(">qq")


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One journal entry: `seq` counts from 1 without gaps; `kind` is e.g. "slice"."""

    seq: int
    kind: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole fund after journal record `journal_seq` (records with seq <= journal_seq
    are inside it). `created_unix` is the wall-clock time of writing, seconds since the epoch
    (information for operators; recovery never uses it)."""

    id: int
    journal_seq: int
    payload: bytes
    created_unix: float


def record_checksum(seq: int, kind: str, payload: bytes) -> int:
    kind_bytes = kind.encode("utf-8")
    header = _RECORD_HEADER.pack(seq, len(kind_bytes))
    return zlib.crc32(payload, zlib.crc32(kind_bytes, zlib.crc32(header)))


def snapshot_checksum(snapshot_id: int, journal_seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(_SNAPSHOT_HEADER.pack(snapshot_id, journal_seq)))


_checked_kinds: set[str] = set()


def check_kind(kind: str) -> str:
    """Kinds are short lowercase identifiers ("slice", "command")."""
    if type(kind) is str and kind in _checked_kinds:
        return kind
    if not isinstance(kind, str) or not _KIND_PATTERN.fullmatch(kind):
        raise StoreUsageError(f"journal kind must match {_KIND_PATTERN.pattern}, got {kind!r}")
    if len(_checked_kinds) < 64:
        _checked_kinds.add(kind)
    return kind


def check_payload(payload: bytes | bytearray | memoryview) -> bytes:
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise StoreUsageError(f"payload must be bytes, got {type(payload).__name__}")
    return bytes(payload)
