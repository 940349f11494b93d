"""Numbered, checksummed records: what the crash workloads write.

Purpose: a crash state must tell an intact record from a torn one without
trusting anything but the bytes.  Each record is

    magic "CRR1" | tag u16 | 0 u16 | slot u32 | version u32 | length u32 |
    crc32 u32 | payload (length - 24 bytes)

little-endian; crc32 covers the 20 header bytes before it and the payload.
The payload is a pseudo-random function of (tag, slot, version), so two
versions of a slot differ nearly everywhere and a mix of them (a record
torn at a page boundary) fails its checksum.

`parse` is the reader a real application would use: it accepts a record
only when the magic, the length and the checksum agree.
"""

import random
import struct
import zlib

MAGIC = b"CRR1"
HEADER = struct.Struct("<4sHHIII")      # without the crc
HEADER_LEN = HEADER.size + 4
MIN_LEN = HEADER_LEN + 1


def make(tag, slot, version, length):
    """The record (bytes) of `version` of `slot` in the file tagged `tag`."""
    if length < MIN_LEN:
        raise ValueError(f"a record needs at least {MIN_LEN} bytes")
    rng = random.Random((tag << 48) ^ (slot << 24) ^ version)
    payload = rng.randbytes(length - HEADER_LEN)
    head = HEADER.pack(MAGIC, tag, 0, slot, version, length)
    crc = zlib.crc32(head + payload)
    return head + struct.pack("<I", crc) + payload


def parse(buf):
    """(tag, slot, version) of the intact record at the start of buf, or
    None when buf does not start with one (torn, missing, or garbage)."""
    if len(buf) < HEADER_LEN:
        return None
    magic, tag, _, slot, version, length = HEADER.unpack_from(buf)
    if magic != MAGIC or length < MIN_LEN or length > len(buf):
        return None
    (crc,) = struct.unpack_from("<I", buf, HEADER.size)
    if zlib.crc32(bytes(buf[:HEADER.size]) +
                  bytes(buf[HEADER_LEN:length])) != crc:
        return None
    return tag, slot, version
