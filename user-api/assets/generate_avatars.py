"""Draws the default avatars (a head and shoulders on a coloured disc) as PNGs in every size.

Run from this directory: python3 generate_avatars.py. Standard library only; the output is
committed, so builds never run this.
"""
import struct
import zlib

COLOURS = [
    ((0x4F, 0x46, 0xE5), (0xE0, 0xE7, 0xFF)),
    ((0x05, 0x96, 0x69), (0xD1, 0xFA, 0xE5)),
    ((0xDB, 0x27, 0x77), (0xFC, 0xE7, 0xF3)),
    ((0xD9, 0x77, 0x06), (0xFE, 0xF3, 0xC7)),
    ((0x02, 0x84, 0xC7), (0xE0, 0xF2, 0xFE)),
    ((0x7C, 0x3A, 0xED), (0xED, 0xE9, 0xFE)),
]
SIZES = [128, 256]


def png(width, height, rows):
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def avatar(size, fg, bg):
    rows = []
    c = size / 2
    for y in range(size):
        row = []
        for x in range(size):
            dx, dy = x - c + 0.5, y - c + 0.5
            head = dx * dx + (dy + size * 0.12) ** 2 <= (size * 0.18) ** 2
            body = dx * dx / (size * 0.32) ** 2 + (dy - size * 0.38) ** 2 / (size * 0.26) ** 2 <= 1
            inside = dx * dx + dy * dy <= (size / 2) ** 2
            colour = fg if inside and (head or body) else bg if inside else (0xFF, 0xFF, 0xFF)
            row.extend(colour)
        rows.append(row)
    return png(size, size, rows)


if __name__ == "__main__":
    import os
    for size in SIZES:
        os.makedirs(f"avatars/x{size}", exist_ok=True)
        for index, (fg, bg) in enumerate(COLOURS, start=1):
            with open(f"avatars/x{size}/{index:02}.png", "wb") as out:
                out.write(avatar(size, fg, bg))
