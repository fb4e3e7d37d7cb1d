"""Find where each object of a stream of concatenated msgpack objects ends.

msgspec decodes exactly one object per call; a capture is many objects back to back. This
walks the msgpack framing only (type bytes and lengths, never the values) so that each record
can be decoded, and reported, on its own. Spec: https://github.com/msgpack/msgpack/blob/master/spec.md
"""

from __future__ import annotations

__all__ = ["MsgpackFramingError", "object_end"]


class MsgpackFramingError(ValueError):
    """The bytes are not a complete msgpack object: ``truncated`` or an invalid type byte.

    ``needed``: for a truncated object, how many more bytes it needs at least (more may be
    needed once those are there); 0 otherwise.
    """

    def __init__(self, detail: str, *, truncated: bool, needed: int = 0) -> None:
        self.truncated = truncated
        self.needed = needed
        super().__init__(detail)


# Type byte -> (bytes of length prefix, fixed payload bytes) for the non-container types.
_FIXED: dict[int, int] = {
    0xC0: 0,  # nil
    0xC2: 0,  # false
    0xC3: 0,  # true
    0xCA: 4,  # float32
    0xCB: 8,  # float64
    0xCC: 1,
    0xCD: 2,
    0xCE: 4,
    0xCF: 8,  # uint8..64
    0xD0: 1,
    0xD1: 2,
    0xD2: 4,
    0xD3: 8,  # int8..64
    0xD4: 2,
    0xD5: 3,
    0xD6: 5,
    0xD7: 9,
    0xD8: 17,  # fixext 1..16 (type byte + data)
}
# Type byte -> size of the big-endian length that follows, for bin, str and ext.
_SIZED: dict[int, int] = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}
_EXT: dict[int, int] = {0xC7: 1, 0xC8: 2, 0xC9: 4}
# Type byte -> (size of the count that follows, objects per count) for arrays and maps.
_CONTAINERS: dict[int, tuple[int, int]] = {
    0xDC: (2, 1),
    0xDD: (4, 1),
    0xDE: (2, 2),
    0xDF: (4, 2),
}


def object_end(data: bytes | memoryview, start: int, *, base: int = 0) -> int:
    """The offset just past the msgpack object that begins at ``data[start]``.

    ``base`` is added to the byte offsets the error messages report (when ``data`` is a window
    of a stream that starts at offset ``base``).

    Raises:
        MsgpackFramingError: the object runs past the end of ``data`` (``truncated``), or a
            byte is not a msgpack type (0xc1).
    """
    size = len(data)
    pos = start
    pending = 1
    while pending:
        if pos >= size:
            raise MsgpackFramingError(
                f"truncated msgpack object (starts at byte {base + start}, "
                f"data ends at byte {base + size})",
                truncated=True,
                needed=pos - size + 1,
            )
        kind = data[pos]
        pos += 1
        pending -= 1
        if kind <= 0x7F or kind >= 0xE0:
            continue
        if kind <= 0x8F:
            pending += 2 * (kind & 0x0F)
        elif kind <= 0x9F:
            pending += kind & 0x0F
        elif kind <= 0xBF:
            pos += kind & 0x1F
        elif kind in _FIXED:
            pos += _FIXED[kind]
        elif kind in _SIZED:
            width = _SIZED[kind]
            pos += width + int.from_bytes(data[pos : pos + width], "big")
        elif kind in _EXT:
            width = _EXT[kind]
            pos += width + 1 + int.from_bytes(data[pos : pos + width], "big")
        elif kind in _CONTAINERS:
            width, per_item = _CONTAINERS[kind]
            pending += per_item * int.from_bytes(data[pos : pos + width], "big")
            pos += width
        else:
            raise MsgpackFramingError(
                f"invalid msgpack type byte 0x{kind:02x} at byte {base + pos - 1}", truncated=False
            )
    if pos > size:
        raise MsgpackFramingError(
            f"truncated msgpack object (starts at byte {base + start}, "
            f"needs {pos - size} more bytes)",
            truncated=True,
            needed=pos - size,
        )
    return pos
