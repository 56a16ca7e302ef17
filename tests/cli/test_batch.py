"""Planning a batch (alphacut.cli.batch): inputs, output names, skips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphacut.cli.batch import Job, plan, validate_name
from support import png_bytes


@pytest.fixture
def folder(tmp_path):
    """in/a.png, in/b.jpg (a PNG named .jpg), in/notes.txt, in/empty.png, in/.hidden.png, in/sub/c.png."""
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    png = png_bytes(np.zeros((4, 4, 3), np.uint8))
    for name in ("a.png", "b.jpg", ".hidden.png", "sub/c.png"):
        (src / name).write_bytes(png)
    (src / "notes.txt").write_text("a shopping list")
    (src / "empty.png").write_bytes(b"")
    return src


def test_a_folder_gives_its_images_and_skips_the_rest_with_the_reason(folder, tmp_path):
    jobs, skipped = plan([folder], tmp_path / "out")
    assert jobs == [Job(folder / "a.png", tmp_path / "out" / "a_no_bg.png"),
                    Job(folder / "b.jpg", tmp_path / "out" / "b_no_bg.png")]
    reasons = {s.src.name: s.reason for s in skipped}
    assert reasons == {"empty.png": "the file is empty (0 bytes)",
                       "notes.txt": "this is a text file, not an image format this app can read (PNG, JPEG, WebP, "
                                    "GIF, BMP, TIFF, ICO)"}


def test_recursive_keeps_the_subfolders(folder, tmp_path):
    jobs, _ = plan([folder], tmp_path / "out", recursive=True)
    assert [j.out.relative_to(tmp_path / "out") for j in jobs] == [Path("a_no_bg.png"), Path("b_no_bg.png"),
                                                                  Path("sub/c_no_bg.png")]


def test_existing_outputs_are_skipped_unless_overwrite(folder, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a_no_bg.png").write_bytes(b"done")
    jobs, skipped = plan([folder / "a.png"], tmp_path / "out")
    assert not jobs and "exists (--overwrite redoes it)" in skipped[0].reason
    jobs, skipped = plan([folder / "a.png"], tmp_path / "out", overwrite=True)
    assert len(jobs) == 1 and not skipped


def test_two_inputs_for_one_output_keep_the_first(folder, tmp_path):
    (folder / "a.jpg").write_bytes((folder / "a.png").read_bytes())
    jobs, skipped = plan([folder / "a.png", folder / "a.jpg", folder / "gone.png"], tmp_path / "out")
    assert [j.src.name for j in jobs] == ["a.png"]
    assert [(s.src.name, s.reason.split(" is ")[-1]) for s in skipped] == [
        ("gone.png", "no such file or folder"), ("a.jpg", f"already the output of {folder / 'a.png'}")]


def test_name_patterns(folder, tmp_path):
    jobs, _ = plan([folder / "b.jpg"], tmp_path, pattern="{name}.{ext}-cut.png")
    assert jobs[0].out.name == "b.jpg.jpg-cut.png"


@pytest.mark.parametrize("pattern, message", [
    ("out.png", "must contain {stem} or {name}"),
    ("{stem}.webp", "must end in .png"),
    ("{stem}/{stem}.png", "must be a file name"),
    ("{0}.png", "uses {0}"),
    ("{stem.png", "is not a valid pattern"),
])
def test_bad_name_patterns_are_refused(pattern, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace(".", r"\.")):
        validate_name(pattern)
