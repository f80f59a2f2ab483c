"""Masking personal fields in failure screenshots, on images (no display needed)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from borough_examples.screens import revenues_client
from connectors.desktop.screen import Anchor, Box, Mask, Screen, mask_image

LABEL = revenues_client.IMAGES / "surname_label.png"


def screenshot_with_label(at: tuple[int, int]) -> Image.Image:
    shot = Image.new("RGB", (800, 500), (217, 217, 217))
    with Image.open(LABEL) as label:
        shot.paste(label.convert("RGB"), at)
    shot.paste((255, 255, 255), (at[0] + 171, at[1] - 1, at[0] + 500, at[1] + 20))  # entry box
    return shot


def test_a_declared_field_is_blacked_out_where_its_label_is_found():
    shot = screenshot_with_label((100, 200))
    mask = Mask(str(LABEL), "Form", (169, -3, 333, 25))
    notes = mask_image(Screen(":x", None, 0.9), shot, [mask], {"Form": [(50, 150, 700, 300)]})
    assert notes == ["surname_label.png: masked"]
    box = shot.crop((100 + 169, 200 - 3, 100 + 169 + 333, 200 - 3 + 25))
    assert box.getextrema() == ((0, 0), (0, 0), (0, 0))
    assert shot.getpixel((100 + 169 - 1, 210)) != (0, 0, 0), "nothing outside the box"


def test_a_visible_window_without_its_anchor_is_pixelated_rather_than_shown():
    shot = Image.new("RGB", (800, 500), (255, 255, 255))
    for x in range(60, 700, 3):  # fine text-like detail that pixelation must destroy
        shot.putpixel((x, 200), (0, 0, 0))
    mask = Mask(str(LABEL), "Form", (169, -3, 333, 25))
    notes = mask_image(Screen(":x", None, 0.9), shot, [mask], {"Form": [(50, 150, 700, 300)]})
    assert notes == ["surname_label.png: not found in 'Form'; window pixelated"]
    row = [shot.getpixel((x, 200)) for x in range(60, 700, 3)]
    assert len(set(row)) < len(row) / 10, "the fine detail is gone"


def test_no_visible_window_means_nothing_to_mask():
    shot = screenshot_with_label((100, 200))
    before = shot.tobytes()
    notes = mask_image(Screen(":x", None, 0.9), shot, [Mask(str(LABEL), "Form", (0, 0, 9, 9))], {})
    assert notes == [] and shot.tobytes() == before


def test_anchor_points_default_to_the_centre_or_follow_the_offset():
    box = Box(left=10, top=20, width=40, height=10)
    assert Screen.point(Anchor("x.png"), box) == (30, 25)
    assert Screen.point(Anchor("x.png", dx=212, dy=9), box) == (222, 29)


def test_reference_images_are_found_by_name_in_the_apps_folder(tmp_path: Path):
    with Image.open(LABEL) as label:
        label.save(tmp_path / "label.png")
    screen = Screen(":x", tmp_path, 0.9)
    found = screen.find_in("label.png", screenshot_with_label((300, 100)))
    assert found is not None and (found.left, found.top) == (300, 100)
