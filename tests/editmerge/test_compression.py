"""The edit's JPEG compression, modelled (alphacut.editmerge.compression)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from alphacut.editmerge import merge_edit, merge_edit_bytes
from alphacut.editmerge.compression import (find_compression, fit_drift_blocks, jpeg_round_trip,
                                            undo_compression)
from alphacut.io.decode import decode
from alphacut.io.encode import encode_png


@pytest.fixture(scope="module")
def photo():
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, :3])


def _drift(rgb, gain=(1.02, 0.98, 1.0), offset=2.0):
    return np.clip(np.rint(rgb * np.float32(gain) + offset), 0, 255).astype(np.uint8)


def _jpeg_bytes(rgb, **kw):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def test_drift_fit_on_block_means_is_within_a_fraction_of_a_code_value(photo):
    gain, offset = fit_drift_blocks(photo, jpeg_round_trip(_drift(photo), quality=80))
    np.testing.assert_allclose(gain, [1.02, 0.98, 1.0], atol=0.003)
    np.testing.assert_allclose(offset, [2.0, 2.0, 2.0], atol=0.4)


@pytest.mark.parametrize(("quality", "subsampling"), [(60, 2), (75, 2), (90, 2), (95, 0)])
def test_search_finds_the_quality_and_subsampling(photo, quality, subsampling):
    edited = jpeg_round_trip(photo, quality=quality, subsampling=subsampling)
    assert find_compression(photo, edited) == (quality, subsampling)


def test_cleaned_edit_keeps_the_edit_and_drops_the_compression(photo):
    """Inside the edit the cleaned difference is the edit (a shift of 12 code values); outside,
    the difference from the drifted original falls by more than half."""
    drifted = _drift(photo)
    edited_clean = drifted.copy()
    edited_clean[200:300, 150:250] = np.clip(edited_clean[200:300, 150:250].astype(int) + 12, 0, 255)
    edited = jpeg_round_trip(edited_clean, quality=80)
    cleaned, found = undo_compression(photo, edited)
    assert found.used and found.quality == 80
    outside = np.ones(photo.shape[:2], bool)
    outside[184:316, 134:266] = False  # the edit and the blocks it touches
    before = np.abs(edited.astype(int) - drifted)[outside].mean()
    after = np.abs(cleaned.astype(int) - drifted)[outside].mean()
    assert after < 0.5 * before
    inside = (cleaned.astype(int) - drifted)[216:284, 166:234]
    assert abs(np.median(inside) - 12) <= 1


def test_an_edit_over_most_of_the_photo_still_lets_the_model_in(photo):
    """The gate looks at the blocks the round trip explains best, so an edit over 60 % of the photo
    (grain over its left part) does not hide the compression of the rest: the model is used, and
    the untouched part's difference from the drifted original falls by more than half."""
    drifted = _drift(photo)
    edited_clean = drifted.astype(np.int16)
    rng = np.random.default_rng(3)
    edited_clean[:, :307] += rng.integers(-10, 11, edited_clean[:, :307].shape, dtype=np.int16)
    edited = jpeg_round_trip(np.clip(edited_clean, 0, 255).astype(np.uint8), quality=85)
    cleaned, found = undo_compression(photo, edited)
    assert found.used and found.quality == 85 and found.explained > 0.7
    outside = (slice(None), slice(336, None))  # the blocks the edit does not touch
    before = np.abs(edited.astype(int) - drifted)[outside].mean()
    after = np.abs(cleaned.astype(int) - drifted)[outside].mean()
    assert after < 0.5 * before


def _smooth_noisy():
    """Gradients with fine noise: any JPEG smooths the noise away, on the grid or not."""
    r, c = np.mgrid[:384, :512]
    ramps = np.stack([r * 0.4 + 40, c * 0.3 + 60, (r + c) * 0.2 + 30], axis=-1)
    return np.clip(ramps + np.random.default_rng(0).normal(0, 2.5, (384, 512, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [60, 71])
def test_a_shifted_edit_is_compared_as_it_is(quality):
    """On a smooth, noisy photo a JPEG of the edit shifted by 2 px passes the gate: the unshifted
    round trip smooths the noise away as the edit's own JPEG did. The merge finds the shift and
    then leaves the model out; the same edit unshifted keeps it."""
    photo = _smooth_noisy()
    shifted = jpeg_round_trip(np.roll(_drift(photo), -2, axis=1), quality=quality)
    assert undo_compression(photo, shifted)[1].used  # the setup: the gate alone lets it in
    res = merge_edit(photo, shifted)
    assert res.report["shift"] == [0, -2] and res.report["compression"]["used"] is False
    assert res.report["mask_fraction"] < 0.01
    res = merge_edit(photo, jpeg_round_trip(_drift(photo), quality=quality))
    assert res.report["shift"] == [0, 0] and res.report["compression"]["used"] is True


@pytest.mark.parametrize("change", ["lossless", "shifted", "other tables"])
def test_edit_that_is_not_a_jpeg_of_the_original_is_left_as_it_is(photo, change):
    """The gate: a lossless edit, a JPEG shifted off the grid, or one with tables the search does not
    know (flat, all 12) is not explained by the model, and the edit passes unchanged."""
    drifted = _drift(photo)
    if change == "lossless":
        edited = drifted
    elif change == "shifted":
        edited = np.roll(jpeg_round_trip(drifted, quality=80), 3, axis=1)
    else:
        edited = np.asarray(Image.open(io.BytesIO(_jpeg_bytes(drifted, qtables=[[12] * 64, [12] * 64]))))
    cleaned, found = undo_compression(photo, edited)
    assert found is not None and not found.used
    assert cleaned is edited


def test_the_files_own_tables_are_used_when_known(photo):
    """Flat tables that no IJG quality gives: searched, the model fails the gate; with the tables
    read from the file (the browser's and the bytes entry's path) it explains the difference."""
    data = _jpeg_bytes(_drift(photo), qtables=[[12] * 64, [12] * 64])
    decoded = decode(data)
    assert decoded.jpeg is not None and decoded.jpeg[1] == 2
    tables, sampling = decoded.jpeg
    cleaned, found = undo_compression(photo, decoded.rgb, tables=tables, subsampling=sampling)
    assert found.used and found.quality is None and found.explained > 0.7
    _, _, report = merge_edit_bytes(encode_png(photo), data)
    assert report["compression"]["tables"] == "the file's" and report["compression"]["used"]
    res = merge_edit(photo, decoded.rgb, edited_jpeg=decoded.jpeg)
    assert res.report["compression"] == report["compression"]


def test_decode_reports_tables_only_for_a_colour_jpeg_on_its_grid(photo):
    assert decode(_jpeg_bytes(photo, quality=85)).jpeg[1] == 2
    assert decode(_jpeg_bytes(photo, quality=85, subsampling=0)).jpeg[1] == 0
    assert decode(encode_png(photo)).jpeg is None
    assert decode(_jpeg_bytes(photo[:, :, 0], quality=85)).jpeg is None  # greyscale
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated on display: the pixels are off the file's grid
    assert decode(_jpeg_bytes(photo, quality=85, exif=exif.tobytes())).jpeg is None


def test_a_resized_edit_is_not_modelled(photo):
    edited = jpeg_round_trip(_drift(photo), quality=80)[:, :500]
    res = merge_edit(photo, edited)
    assert res.report["compression"] is None and res.report["warnings"]


def test_option_off_and_large_photos_skip_the_model(photo, monkeypatch):
    import alphacut.editmerge.merge as em
    from alphacut.editmerge import MergeOptions

    edited = jpeg_round_trip(_drift(photo), quality=80)
    assert merge_edit(photo, edited, options=MergeOptions(undo_compression=False)).report["compression"] is None
    assert merge_edit(photo, edited, options=MergeOptions(match_colour=False)).report["compression"] is None
    monkeypatch.setattr(em, "_COMPRESSION_MAX_PIXELS", photo.shape[0] * photo.shape[1] - 1)
    assert merge_edit(photo, edited).report["compression"] is None
