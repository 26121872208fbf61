#!/usr/bin/env python3
"""Draws the Custos app icon (a shield on a calm blue-green square) into the PNG and ICO
sizes Tauri uses. Pure Python (zlib), so it runs anywhere: python3 icons/make_icons.py"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
BG = (22, 78, 99)       # deep blue-green
FG = (236, 244, 246)    # near white
KEY = (22, 78, 99)


def inside_shield(x, y):
    # x, y in [0, 1]; the shield spans 0.22..0.78 wide, 0.18..0.84 tall.
    cx, top, bottom, half = 0.5, 0.18, 0.84, 0.28
    if y < top or y > bottom:
        return False
    t = (y - top) / (bottom - top)
    if t < 0.55:
        w = half
    else:
        u = (t - 0.55) / 0.45
        w = half * math.sqrt(max(0.0, 1 - u * u))
    return abs(x - cx) <= w


def inside_keyhole(x, y):
    if (x - 0.5) ** 2 + (y - 0.44) ** 2 <= 0.075 ** 2:
        return True
    return abs(x - 0.5) <= 0.032 and 0.44 <= y <= 0.64


def inside_rounded_square(x, y, r=0.2):
    dx = max(r - x, 0, x - (1 - r))
    dy = max(r - y, 0, y - (1 - r))
    return dx * dx + dy * dy <= r * r


def pixel(size, px, py):
    # 4x4 supersampling for smooth edges.
    acc = [0, 0, 0, 0]
    n = 4
    for i in range(n):
        for j in range(n):
            x = (px + (i + 0.5) / n) / size
            y = (py + (j + 0.5) / n) / size
            if not inside_rounded_square(x, y):
                continue
            if inside_shield(x, y) and not inside_keyhole(x, y):
                c = FG
            elif inside_keyhole(x, y) and inside_shield(x, y):
                c = KEY
            else:
                c = BG
            acc[0] += c[0]
            acc[1] += c[1]
            acc[2] += c[2]
            acc[3] += 255
    k = n * n
    a = acc[3] / k
    if a == 0:
        return (0, 0, 0, 0)
    return (round(acc[0] / (acc[3] / 255)), round(acc[1] / (acc[3] / 255)),
            round(acc[2] / (acc[3] / 255)), round(a))


def png(size):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            row.extend(pixel(size, px, py))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(pngs):
    header = struct.pack("<HHH", 0, 1, len(pngs))
    entries, data = b"", b""
    offset = 6 + 16 * len(pngs)
    for size, blob in pngs:
        s = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", s, s, 0, 0, 1, 32, len(blob), offset)
        data += blob
        offset += len(blob)
    return header + entries + data


def main():
    sizes = {"32x32.png": 32, "128x128.png": 128, "128x128@2x.png": 256, "icon.png": 512}
    made = {}
    for name, size in sizes.items():
        blob = png(size)
        made[size] = blob
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(blob)
    with open(os.path.join(HERE, "icon.ico"), "wb") as f:
        f.write(ico([(32, made[32]), (256, made[256])]))


if __name__ == "__main__":
    main()
