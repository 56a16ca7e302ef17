"""Golden outputs: a fixed set of photos through the whole pipeline, byte for byte.

The hashes were recorded at a6cc43e, before the package was reorganised (issue 17), so that a
move or a merge of helpers that changes any pixel, any score in the report or any byte of a PNG
fails here. They hold for this repository's locked numpy, SciPy, Pillow and onnxruntime on
x86-64; a mismatch writes the actual PNGs next to the test's tmp folder for a look.

Inference is the real model on the cat (the CLI's path), and otherwise a fake that derives a
soft matte from the model input with plain arithmetic, so that every stage (refinement,
escalation, holes, the colour key's second opinion, strokes, feather, decontamination) runs on
a matte that depends on the photo.

One intended change since: the report names the colour key ``'colorkey'``, the name
``Options.method`` takes, where it said ``'colour key'`` (three report hashes re-recorded; with
the old name put back they hash as recorded at a6cc43e, and every PNG is unchanged).

Re-record (only for an intended change of output): ``ALPHACUT_GOLDEN=print pytest tests/test_golden.py -s``.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os

import numpy as np
import pytest

from alphacut.editmerge import merge_edit_labels_bytes
from alphacut.io.encode import encode_jpeg, encode_png
from alphacut.pipeline import Options, cutout
from support import png_bytes


class ArithmeticInfer:
    """A soft matte from the model input: a disc, pushed in and out by the photo's brightness."""

    async def __call__(self, x):
        lum = x[0].astype(np.float64).mean(axis=0)
        rows, cols = lum.shape
        r, c = np.mgrid[:rows, :cols]
        reach = (rows * 0.3 - np.hypot(r - rows * 0.55, c - cols * 0.5)) / 40.0
        return np.clip(0.5 + reach + 1.5 * (lum - lum.mean()), 0.0, 1.0).astype(np.float32)


def _studio(shape=(240, 320), seed=1) -> np.ndarray:
    """A red ellipse with a soft edge on a green backdrop, with a little noise."""
    rows, cols = shape
    r, c = np.mgrid[:rows, :cols]
    inside = np.clip(1.0 - (np.hypot((r - rows / 2) / (rows / 3), (c - cols / 2) / (cols / 4)) - 1.0) * 12, 0, 1)
    fg, bg = np.array([200, 40, 50.0]), np.array([40, 170, 60.0])
    noise = np.random.default_rng(seed).normal(0, 3, (rows, cols, 3))
    img = inside[..., None] * fg + (1 - inside[..., None]) * bg + noise
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _strokes(shape) -> np.ndarray:
    s = np.zeros(shape, np.uint8)
    s[shape[0] // 3 : shape[0] // 3 + 6, 10:60] = 1
    s[-20:-10, -40:-5] = 2
    return s


def _report_digest(report: dict) -> str:
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in ("timings_ms", "ms")}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return _sha(json.dumps(strip(report), sort_keys=True).encode())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _cutout(data, infer, **kw):
    return asyncio.run(cutout(data, infer, **kw))


def _cases(cat_rgb, cat_jpeg, ort_infer):
    """name -> (bytes to hash, report): every case the golden table covers."""
    fake = ArithmeticInfer()
    out = {}
    res = _cutout(cat_jpeg, ort_infer)
    out["cat, real model"] = (res.png, res.report)
    first = _cutout(cat_jpeg, fake)
    out["cat, fake model"] = (first.png, first.report)
    res = _cutout(cat_jpeg, fake, options=Options(escalate="force", holes=True, shift_edge=2.5, feather=3.0,
                                                  decontaminate=0.6, compress_level=6),
                  strokes=_strokes(cat_rgb.shape[:2]))
    out["cat, escalated, holes, strokes, shift, feather"] = (res.png, res.report)
    res = _cutout(cat_jpeg, None, coarse=first.coarse, options=Options(refine=False, shift_edge=-1.5))
    out["cat, re-run from the coarse matte"] = (res.png, res.report)
    studio = png_bytes(_studio())
    res = _cutout(studio, fake)
    out["studio, auto (colour key as second opinion)"] = (res.png, res.report)
    res = _cutout(studio, None, options=Options(method="colorkey"))
    out["studio, colour key alone"] = (res.png, res.report)
    noise = np.random.default_rng(0).integers(0, 256, (301, 457, 3), dtype=np.uint8)
    res = _cutout(encode_jpeg(noise, quality=85), fake, options=Options(escalate="off"))
    out["noise, odd size, JPEG"] = (res.png, res.report)
    rgba = np.dstack([_studio((97, 131), seed=2), np.tile(np.linspace(0, 255, 131).astype(np.uint8), (97, 1))])
    res = _cutout(png_bytes(rgba), fake)
    out["studio with its own alpha"] = (res.png, res.report)
    edit = cat_rgb.copy()
    edit[80:160, 120:260] = np.clip(edit[80:160, 120:260].astype(int) + (60, -30, 20), 0, 255).astype(np.uint8)
    composite, mask, labels, report = merge_edit_labels_bytes(encode_png(cat_rgb), encode_jpeg(edit, quality=90),
                                                              {"feather": 0.01, "include_regions": []})
    out["edit merge"] = (composite + mask + labels, report)
    return out


GOLDEN = {
    'cat, real model': ('6ba6be298f4208ef', '62f884c82bcc06dc'),
    'cat, fake model': ('3295eb247a579af2', 'eb36e533bed24642'),
    'cat, escalated, holes, strokes, shift, feather': ('6b1ed2159e97ca06', 'f1d18f3cc8908fe5'),
    'cat, re-run from the coarse matte': ('a53c1fbfe3355ccb', 'f6004fc5aedc3528'),
    'studio, auto (colour key as second opinion)': ('195d68d1164f3e1d', '93ac10952620848f'),
    'studio, colour key alone': ('ae9c8d0c42633415', 'be1dac95d9824e71'),
    'noise, odd size, JPEG': ('a868b22b52a490c4', 'dc8b4cccb9b33df8'),
    'studio with its own alpha': ('d930ace4e2d2976b', '8274fe4cf27bf7ea'),
    'edit merge': ('5fd56973aefd05b9', '87fba800b205a743'),
}


@pytest.fixture(scope="module")
def cases(cat_rgb, cat_jpeg, ort_infer):
    return _cases(cat_rgb, cat_jpeg, ort_infer)


def test_golden_table_is_complete(cases):
    if os.environ.get("ALPHACUT_GOLDEN") == "print":
        for name, (data, report) in cases.items():
            print(f"    {name!r}: ({_sha(data)!r}, {_report_digest(report)!r}),")
    assert sorted(GOLDEN) == sorted(cases)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_output_is_byte_identical(cases, name, tmp_path):
    data, report = cases[name]
    png_hash, report_hash = GOLDEN[name]
    if _sha(data) != png_hash:
        (tmp_path / "actual.bin").write_bytes(data)
    assert (_sha(data), _report_digest(report)) == (png_hash, report_hash), f"output changed; see {tmp_path}"
