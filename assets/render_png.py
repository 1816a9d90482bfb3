#!/usr/bin/env python3
"""Draws a `tmux capture-pane -p -e` capture (text with SGR colour codes) into
a PNG with a monospace font, cell by cell, so the picture is exactly what
the terminal showed. Usage: render_png.py CAPTURE.ansi OUT.png"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
# Braille (the chart) is missing from the mono face; DejaVu Sans has it.
FONT_BRAILLE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SIZE = 16
BG = (24, 24, 27)
FG = (220, 220, 220)
PALETTE = [
    (40, 40, 40), (224, 80, 80), (90, 200, 110), (230, 200, 80),
    (100, 150, 240), (200, 110, 220), (80, 200, 210), (200, 200, 200),
    (110, 110, 110), (255, 110, 110), (120, 230, 140), (255, 230, 120),
    (140, 180, 255), (230, 150, 250), (120, 230, 240), (255, 255, 255),
]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def color256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return (level, level, level)


def apply(codes, state):
    codes = [int(c) if c else 0 for c in codes.split(";")] if codes else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            state.update(fg=None, bg=None, bold=False, dim=False, reverse=False)
        elif c == 1:
            state["bold"] = True
        elif c == 2:
            state["dim"] = True
        elif c == 22:
            state["bold"] = state["dim"] = False
        elif c == 7:
            state["reverse"] = True
        elif c == 27:
            state["reverse"] = False
        elif 30 <= c <= 37:
            state["fg"] = PALETTE[c - 30]
        elif 90 <= c <= 97:
            state["fg"] = PALETTE[c - 90 + 8]
        elif c == 39:
            state["fg"] = None
        elif 40 <= c <= 47:
            state["bg"] = PALETTE[c - 40]
        elif 100 <= c <= 107:
            state["bg"] = PALETTE[c - 100 + 8]
        elif c == 49:
            state["bg"] = None
        elif c in (38, 48) and i + 1 < len(codes):
            key = "fg" if c == 38 else "bg"
            if codes[i + 1] == 5 and i + 2 < len(codes):
                state[key] = color256(codes[i + 2])
                i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                state[key] = tuple(codes[i + 2:i + 5])
                i += 4
        i += 1


def main():
    source, target = sys.argv[1], sys.argv[2]
    lines = open(source, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(FONT_BOLD, SIZE)
    braille = ImageFont.truetype(FONT_BRAILLE, SIZE)
    cell_w = round(font.getlength("M"))
    cell_h = SIZE + 4
    cols = 120
    image = Image.new("RGB", (cols * cell_w + 16, len(lines) * cell_h + 16), BG)
    draw = ImageDraw.Draw(image)
    state = dict(fg=None, bg=None, bold=False, dim=False, reverse=False)
    for row, line in enumerate(lines):
        col = 0
        pos = 0
        for match in list(SGR.finditer(line)) + [None]:
            end = match.start() if match else len(line)
            for ch in line[pos:end]:
                fg = state["fg"] or FG
                bg = state["bg"] or BG
                if state["dim"]:
                    fg = tuple(int(v * 0.55 + b * 0.45) for v, b in zip(fg, BG))
                if state["reverse"]:
                    fg, bg = bg, fg
                x, y = 8 + col * cell_w, 8 + row * cell_h
                if bg != BG:
                    draw.rectangle([x, y, x + cell_w - 1, y + cell_h - 1], fill=bg)
                if ch in "─│┌┐└┘":
                    # Box lines drawn as lines, so borders join between rows.
                    mid_x, mid_y = x + cell_w // 2, y + cell_h // 2
                    if ch in "─┌┐└┘":
                        left = x if ch in "─┐┘" else mid_x
                        right = x + cell_w if ch in "─┌└" else mid_x
                        draw.line([left, mid_y, right, mid_y], fill=fg)
                    if ch in "│┌┐└┘":
                        top = y if ch in "│└┘" else mid_y
                        bottom = y + cell_h if ch in "│┌┐" else mid_y
                        draw.line([mid_x, top, mid_x, bottom], fill=fg)
                elif "\u2800" <= ch <= "\u28ff":
                    draw.text((x, y + 1), ch, font=braille, fill=fg)
                elif ch != " ":
                    draw.text((x, y + 1), ch, font=bold if state["bold"] else font, fill=fg)
                col += 1
            if match:
                apply(match.group(1), state)
                pos = match.end()
    image.save(target)


if __name__ == "__main__":
    main()
