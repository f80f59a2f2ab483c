"""Screen crops made ready for Tesseract, and where text and fields are in them.

Tesseract reads dark text on a light, plain background, a few times larger than a desktop
font draws it, with nothing else in the picture: no box border (its page layout takes a
bordered area for a picture and drops the text), no blinking text cursor (read as ``l`` or
``|``). A field's box is shrunk to the inside of its border before it is read, so a box
declared a pixel off neither cuts the accents off capitals nor reads the border.
"""

from __future__ import annotations

from typing import Any

SCALE = 3
PAD = 12
#: pixels around a field's declared box searched for its border
FIELD_MARGIN = 4


def ink(image: Any) -> Any:
    """Greyscale of ``image`` as dark text on a light background: light text on a darker
    background (a selected row, a title bar) is inverted. Returns a numpy array."""
    import numpy as np

    gray = np.asarray(image.convert("L"))
    background = int(np.bincount(gray.ravel(), minlength=256).argmax())
    lighter = int((gray > background + 48).sum())
    darker = int((gray < background - 48).sum())
    return (255 - gray) if lighter > darker else gray.copy()


def erase_caret(gray: Any) -> Any:
    """Whiten a text cursor: an unbroken column of ink at most 2 px wide, clearly taller
    than any glyph stem (it spans the whole line, ascent to descent) and three quarters of
    the crop (so a field's box must be its inside, not much taller).

    Glyphs never make one unbroken column that tall (accents are detached, ascenders and
    descenders do not meet), so the text itself is left alone.
    """
    import numpy as np

    dark = gray < 128
    longest = np.zeros(dark.shape[1], dtype=int)
    run = np.zeros(dark.shape[1], dtype=int)
    for row in dark:
        run = np.where(row, run + 1, 0)
        longest = np.maximum(longest, run)
    top = int(longest.max(initial=0))
    if top < max(gray.shape[0] * 0.75, 8):
        return gray
    tall = longest >= top - 1
    others = int(longest[~tall].max(initial=0))
    if others and top < others * 1.3:
        return gray
    out = gray.copy()
    columns = np.where(tall)[0]
    if columns.size and columns[-1] - columns[0] <= 2:
        out[:, columns[0] : columns[-1] + 1] = 255
    return out


def erase_lines(gray: Any) -> Any:
    """Whiten long straight lines (box borders, grid lines): Tesseract's page layout takes a
    bordered area for a picture and drops the text inside it."""
    import cv2
    import numpy as np

    dark = (gray < 160).astype(np.uint8)
    across = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, 40), np.uint8))
    down = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((25, 1), np.uint8))
    out = gray.copy()
    out[(across > 0) | (down > 0)] = 255
    return out


def prepare(image: Any, *, caret: bool = True, lines: bool = False, scale: int = SCALE) -> Any:
    """The PIL image Tesseract reads best: dark on white, cursor (or long lines) erased,
    scaled, padded. A whole screen (``lines``) is left in its own colours: its background
    is no one colour, and its text is dark."""
    import numpy as np
    from PIL import Image, ImageOps

    gray = np.asarray(image.convert("L")).copy() if lines else ink(image)
    if caret:
        gray = erase_caret(gray)
    if lines:
        gray = erase_lines(gray)
    picture = Image.fromarray(gray)
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.LANCZOS
        )
    return ImageOps.expand(picture, border=PAD, fill=255)


def text_boxes(image: Any) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of each run of text: edges joined into words and phrases,
    long straight lines (borders, grid lines) removed first."""
    import cv2
    import numpy as np

    gray = np.asarray(image.convert("L"))
    edges = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((2, 2), np.uint8))
    mask = (edges > 48).astype(np.uint8)
    across = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, 30), np.uint8))
    down = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((22, 1), np.uint8))
    mask[(across > 0) | (down > 0)] = 0
    joined = cv2.dilate(mask, np.ones((3, 7), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = []
    height, width = gray.shape
    for index in range(1, count):
        left, top, w, h, area = (int(v) for v in stats[index])
        if not (6 <= h <= 40) or w < 4 or area < 12:
            continue
        left, top = max(left - 2, 0), max(top - 2, 0)
        boxes.append((left, top, min(w + 4, width - left), min(h + 4, height - top)))
    return boxes


def around_field(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A field's declared box grown by FIELD_MARGIN on every side (to find its border in)."""
    left, top, width, height = box
    m = FIELD_MARGIN
    return max(left - m, 0), max(top - m, 0), width + 2 * m, height + 2 * m


def field_crop(around: Any) -> Any:
    """The inside of the field in ``around`` (a grab of :func:`around_field`), or the
    declared box itself when no border shows."""
    inside = field_inside(around)
    if inside is None:
        m = FIELD_MARGIN
        return around.crop((m, m, around.width - m, around.height - m))
    left, top, width, height = inside
    return around.crop((left, top, left + width, top + height))


def field_inside(image: Any) -> tuple[int, int, int, int] | None:
    """(left, top, width, height) of the inside of the field in ``image`` (a crop a little
    larger than the field), or None if it has no edge to find.

    The inside is the largest area of one plain colour around the crop's centre (the text
    in it makes holes, which do not change its bounds); a border, or a background of
    another colour, ends it. If it fills the whole crop there is no edge: None.
    """
    import cv2
    import numpy as np

    rgb = np.asarray(image.convert("RGB")).astype(int)
    height, width, _ = rgb.shape
    if height < 6 or width < 6:
        return None
    middle = rgb[height // 4 : height - height // 4, width // 4 : width - width // 4]
    colours, counts = np.unique(middle.reshape(-1, 3), axis=0, return_counts=True)
    plain = (np.abs(rgb - colours[counts.argmax()]).max(axis=2) <= 8).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(plain, connectivity=4)
    central = labels[height // 4 : height - height // 4, width // 4 : width - width // 4]
    sizes = np.bincount(central.ravel(), minlength=count)
    sizes[0] = 0  # not plain
    if count < 2 or not sizes.any():
        return None
    left, top, w, h, _ = (int(v) for v in stats[int(sizes.argmax())])
    if h < 6 or (w, h) == (width, height):
        return None
    return left, top, w, h
