"""Make reference images for desktop bots from the command line.

``python -m connectors.desktop.reference shot OUT.png``
    save the whole screen of $DISPLAY (run the app there first, e.g. on ``xvfb-run``);
``python -m connectors.desktop.reference crop SHOT.png LEFT TOP WIDTH HEIGHT OUT.png``
    cut a reference image out of a screenshot (coordinates from any image viewer);
``python -m connectors.desktop.reference find SHOT.png IMAGE.png``
    check that an image is found in a screenshot, where, and whether only once.

See docs/writing-a-desktop-bot.md for what makes a good reference image.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def shot(out: Path) -> str:
    from PIL import ImageGrab

    display = os.environ.get("DISPLAY")
    if not display:
        return "DISPLAY is not set: start the app on a display first"
    ImageGrab.grab(xdisplay=display).save(out)
    return f"saved the screen of {display} to {out}"


def crop(source: Path, box: tuple[int, int, int, int], out: Path) -> str:
    from PIL import Image

    left, top, width, height = box
    with Image.open(source) as image:
        image.crop((left, top, left + width, top + height)).save(out)
    return f"saved {width}x{height} from {source} at ({left}, {top}) to {out}"


def find(source: Path, needle: Path, confidence: float = 0.9) -> str:
    """Every place ``needle`` matches in ``source``; a good anchor matches exactly once."""
    import pyscreeze
    from PIL import Image

    with Image.open(source) as haystack, Image.open(needle) as image:
        try:
            boxes = list(
                pyscreeze.locateAll(
                    image.convert("RGB"), haystack.convert("RGB"), confidence=confidence
                )
            )
        except pyscreeze.ImageNotFoundException:
            boxes = []
    if not boxes:
        return f"{needle.name}: not found (confidence {confidence})"
    places = ", ".join(f"({int(b.left)}, {int(b.top)})" for b in boxes)
    verdict = "good: unique" if len(boxes) == 1 else "ambiguous: crop something more distinctive"
    return f"{needle.name}: found {len(boxes)}x at {places}; {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.desktop.reference")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("shot").add_argument("out", type=Path)
    cropper = commands.add_parser("crop")
    cropper.add_argument("source", type=Path)
    for name in ("left", "top", "width", "height"):
        cropper.add_argument(name, type=int)
    cropper.add_argument("out", type=Path)
    finder = commands.add_parser("find")
    finder.add_argument("source", type=Path)
    finder.add_argument("image", type=Path)
    finder.add_argument("--confidence", type=float, default=0.9)
    args = parser.parse_args(argv)
    if args.command == "shot":
        message = shot(args.out)
    elif args.command == "crop":
        message = crop(args.source, (args.left, args.top, args.width, args.height), args.out)
    else:
        message = find(args.source, args.image, args.confidence)
    sys.stdout.write(message + "\n")
    return 1 if "not found" in message or "not set" in message else 0


if __name__ == "__main__":
    sys.exit(main())
