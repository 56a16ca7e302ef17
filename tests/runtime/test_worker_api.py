"""The worker's entry points, called from CPython as the worker calls them from JS."""
import asyncio
import io
import json

import numpy as np
import pytest
from PIL import Image

from alphacut.runtime.worker_api import coarse_from_png, process
from support import DiscInfer, png_bytes


def test_process_returns_a_compact_coarse_matte_that_reruns_without_the_model():
    rgb = np.random.default_rng(3).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    infer = DiscInfer()
    png, coarse, report = asyncio.run(process(png_bytes(rgb), json.dumps({"escalate": "off"}), infer))
    assert len(infer.calls) == 1 and json.loads(report)["width"] == 200
    assert len(coarse) < 1024 * 1024 // 4  # a PNG, far below the 4 MB of float32
    assert coarse_from_png(coarse).shape == (1024, 1024)
    again, coarse2, report2 = asyncio.run(process(png_bytes(rgb), json.dumps({"escalate": "off"}), None, coarse))
    assert coarse2 == coarse and json.loads(report2)["method"] == "earlier result"
    a1 = np.asarray(Image.open(io.BytesIO(png)))[..., 3]
    a2 = np.asarray(Image.open(io.BytesIO(again)))[..., 3]
    assert np.abs(a1.astype(int) - a2).max() <= 1  # the 16-bit matte re-runs to the same cut-out


@pytest.mark.parametrize("bad, message", [(b"garbage", "not a matte from an earlier result"),
                                          (png_bytes(np.zeros((4, 4, 3), np.uint8)), "expected a 16-bit")])
def test_a_bad_coarse_matte_is_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        asyncio.run(process(png_bytes(np.zeros((8, 8, 3), np.uint8)), "{}", None, bad))


def test_warm_up_runs_the_default_path_once_without_escalating():
    """The made-up photo goes through every default stage (prepare, the model's stand-in, the
    check, decontamination, encoding) and is good at once, so the warm-up costs one pass only."""
    from alphacut.runtime.worker_api import WARM_UP_SIZE, warm_up

    report = json.loads(asyncio.run(warm_up()))
    assert (report["height"], report["width"]) == WARM_UP_SIZE
    assert report["method"] == "model" and report["quality"]["verdict"] == "good"
    assert report["escalation"]["ran"] is False
    assert {"prepare", "infer", "upsample", "quality", "decontaminate", "encode"} <= set(report["timings_ms"])
