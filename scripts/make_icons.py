"""Draw the app icons (favicon, home-screen icons) with Pillow: a white heart holding a red star.

The same picture as ``static/icons/icon.svg``, for the places that want PNG or ICO.
Run it after changing the design: ``.venv/bin/python scripts/make_icons.py``.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

RED = (200, 16, 46, 255)
WHITE = (255, 255, 255, 255)
ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"


def _heart(size):
    """Points on a heart outline filling most of a ``size`` square."""
    points = []
    for step in range(200):
        t = 2 * math.pi * step / 200
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        points.append((size / 2 + x * size / 40, size * 0.47 - y * size / 40))
    return points


def _star(centre_x, centre_y, outer, inner):
    points = []
    for step in range(10):
        radius = outer if step % 2 == 0 else inner
        angle = -math.pi / 2 + step * math.pi / 5
        points.append((centre_x + radius * math.cos(angle), centre_y + radius * math.sin(angle)))
    return points


def draw(size, *, padded=False):
    """The icon at ``size`` pixels; ``padded`` leaves the safe zone Android masks need."""
    scale = 4  # draw large, then shrink, for smooth edges
    canvas = size * scale
    image = Image.new("RGBA", (canvas, canvas), RED if padded else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if not padded:
        pen.rounded_rectangle((0, 0, canvas - 1, canvas - 1), radius=canvas * 0.22, fill=RED)
    inset = canvas * (0.8 if padded else 1.0)
    offset = (canvas - inset) / 2
    pen.polygon([(offset + x, offset + y) for x, y in _heart(inset)], fill=WHITE)
    pen.polygon(_star(canvas / 2, offset + inset * 0.45, inset * 0.17, inset * 0.07), fill=RED)
    return image.resize((size, size), Image.LANCZOS)


def main():
    ICONS.mkdir(parents=True, exist_ok=True)
    draw(180, padded=True).convert("RGB").save(ICONS / "apple-touch-icon.png", optimize=True)
    draw(192).save(ICONS / "icon-192.png", optimize=True)
    draw(512).save(ICONS / "icon-512.png", optimize=True)
    draw(512, padded=True).save(ICONS / "icon-maskable-512.png", optimize=True)
    draw(64).save(ICONS / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])


if __name__ == "__main__":
    main()
