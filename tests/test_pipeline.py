import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from alphacut.io.decode import DecodeError
from alphacut.pipeline import Options, cutout
from support import CAT_BACKGROUND, CAT_SUBJECT, DiscInfer, png_bytes


def run(data, infer, **kw):
    return asyncio.run(cutout(data, infer, **kw))


def test_fake_model_disc_lands_in_the_middle_at_full_resolution():
    rgb = np.random.default_rng(0).integers(0, 256, (301, 457, 3), dtype=np.uint8)
    infer = DiscInfer()
    res = run(png_bytes(rgb), infer, options=Options(escalate="off"))
    out = np.asarray(Image.open(io.BytesIO(res.png)))
    assert out.shape == (301, 457, 4)
    opaque, hidden = out[..., 3] == 255, out[..., 3] == 0
    assert (opaque | hidden).mean() > 0.9 and opaque.any() and hidden.any()
    np.testing.assert_array_equal(out[..., :3][opaque], rgb[opaque])  # decontamination touches only the edge band
    assert not out[hidden].any()  # nothing of the hidden background is in the file
    assert out[150, 228, 3] == 255 and out[5, 5, 3] == 0
    (x,) = infer.calls
    assert x.shape == (1, 3, 1024, 1024) and x.dtype == np.float32
    r = res.report
    assert (r["width"], r["height"], r["input_format"], r["model"]) == (457, 301, "PNG", "isnet")
    # The model's matte is upsampled; refinement runs only when the check is not good.
    assert {"decode", "prepare", "infer", "upsample", "adjust", "decontaminate", "encode",
            "quality"} <= set(r["timings_ms"]) <= {"decode", "prepare", "infer", "upsample", "refine", "holes",
                                                    "adjust", "decontaminate", "encode", "quality"}
    assert r["method"] == "model" and r["quality"]["verdict"] in ("good", "suspicious", "bad")
    assert r["output_bytes"] == len(res.png)


def test_output_has_no_exif_even_when_input_had_gps():
    img = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0)}  # GPSInfo
    exif[0x010F] = "CameraMaker"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    res = run(buf.getvalue(), DiscInfer())
    out = Image.open(io.BytesIO(res.png))
    assert not out.getexif() and b"CameraMaker" not in res.png


def test_wrong_size_from_infer_is_an_error():
    async def bad(x):
        return np.zeros((10, 10), np.float32)

    with pytest.raises(ValueError, match="expected 1024x1024"):
        run(png_bytes(np.zeros((40, 40, 3), np.uint8)), bad, options=Options(method="model"))


def test_decode_errors_propagate():
    with pytest.raises(DecodeError):
        run(b"not an image", DiscInfer())


def test_options_validate():
    with pytest.raises(ValueError, match="compress_level"):
        Options(compress_level=11)
    with pytest.raises(ValueError, match="unknown model"):
        Options(model="nope")
    with pytest.raises(ValueError, match="max_pixels"):
        Options.from_dict({"max_pixels": 0})


def test_real_model_on_the_cat(cat_jpeg, cat_rgb, ort_infer):
    res = run(cat_jpeg, ort_infer)
    out = np.asarray(Image.open(io.BytesIO(res.png)))
    assert out.shape == (300, 451, 4)
    alpha = out[..., 3] / 255.0
    assert alpha[CAT_SUBJECT].mean() > 0.9
    assert alpha[CAT_BACKGROUND].mean() < 0.05
    decoded = np.asarray(Image.open(io.BytesIO(cat_jpeg)).convert("RGB"))
    opaque = out[..., 3] == 255
    assert opaque.mean() > 0.05
    np.testing.assert_array_equal(out[..., :3][opaque], decoded[opaque])


def test_refine_and_decontaminate_can_be_turned_off(cat_jpeg, ort_infer):
    res = run(cat_jpeg, ort_infer, options=Options(refine=False, decontaminate=0))
    out = np.asarray(Image.open(io.BytesIO(res.png)))
    decoded = np.asarray(Image.open(io.BytesIO(cat_jpeg)).convert("RGB"))
    seen = out[..., 3] > 0
    np.testing.assert_array_equal(out[..., :3][seen], decoded[seen])  # nothing touches the colour it shows
    assert not out[~seen].any()
    assert "upsample" in res.report["timings_ms"] and "refine" not in res.report["timings_ms"]


def test_coarse_skips_the_model_and_strokes_apply():
    rgb = np.random.default_rng(3).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    infer = DiscInfer()
    first = run(png_bytes(rgb), infer)
    strokes = np.zeros((32, 48), np.uint8)
    strokes[:, :8] = 1   # keep the left sixth
    strokes[12:20, 20:28] = 2  # remove the disc's centre
    again = run(png_bytes(rgb), None, coarse=first.coarse, strokes=strokes, options=Options(feather=2))
    assert len(infer.calls) == 1 and "infer" not in again.report["timings_ms"]
    a = np.asarray(Image.open(io.BytesIO(again.png)))[..., 3]
    assert (a[:, :16] == 255).all() and (a[24:40, 40:56] == 0).all()
    np.testing.assert_array_equal(again.coarse, first.coarse)


def test_cutout_needs_infer_or_coarse():
    with pytest.raises(ValueError, match="either infer or coarse"):
        run(png_bytes(np.zeros((40, 40, 3), np.uint8)), None, options=Options(method="model"))


def test_uniform_studio_background_the_model_decides_and_the_colour_key_is_a_preview():
    rgb = np.full((120, 160, 3), (30, 200, 60), np.uint8)  # a green screen
    rgb[30:90, 50:110] = (200, 40, 160)  # the subject
    # No model yet: the colour key alone, labelled as a preview.
    res = run(png_bytes(rgb), None)
    assert res.report["method"] == "colorkey" and res.report["preview"] is True
    assert res.report["method_reason"].startswith("preview")
    a = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    assert a[40:80, 60:100].min() > 240 and a[:15].max() < 15
    # The model loaded: it decides, and the colour key is reported as a second opinion.
    infer = DiscInfer()
    res = run(png_bytes(rgb), infer, options=Options(escalate="off"))
    assert len(infer.calls) == 1 and res.report["method"] == "model" and res.report["preview"] is False
    assert "colorkey" in res.report["second_opinions"]
    forced = run(png_bytes(rgb), None, options=Options(method="colorkey"))
    assert forced.report["method"] == "colorkey" and not forced.report["preview"]


def test_a_uniform_border_photo_with_two_objects_keeps_only_what_the_model_found():
    """The colour key sees both objects on the plain table; the model found one: one stays."""
    rgb = np.full((200, 300, 3), 235, np.uint8)
    rgb[60:140, 40:120] = (180, 30, 30)     # the subject, which the model finds
    rgb[60:140, 190:270] = (30, 30, 180)    # a second object, which the model leaves out

    async def left_only(x):
        out = np.zeros((1024, 1024), np.float32)
        r0, r1, c0, c1 = (round(v * 1024) for v in (60 / 200, 140 / 200, 40 / 300, 120 / 300))
        out[r0:r1, c0:c1] = 1
        return out

    res = run(png_bytes(rgb), left_only, options=Options(escalate="off"))
    a = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    assert a[70:130, 50:110].min() == 255 and a[60:140, 190:270].max() == 0
    opinion = res.report["second_opinions"]["colorkey"]
    assert opinion["added"] > 0.5 and opinion["pieces"] >= 1, opinion
    assert res.report["quality"]["verdict"] != "good"
    assert any("second opinion" in r for r in res.report["quality"]["reasons"])


def test_a_subject_the_colour_of_its_backdrop_keeps_no_holes():
    """A white cube on white: colour says 'backdrop' inside it, the model says 'subject'."""
    rgb = np.full((200, 200, 3), 245, np.uint8)
    rgb[50:150, 50:150] = 243          # the cube's face, the backdrop's colour
    rgb[50:52, 50:150] = rgb[148:150, 50:150] = rgb[50:150, 50:52] = rgb[50:150, 148:150] = 90  # its outline

    async def square(x):
        out = np.zeros((1024, 1024), np.float32)
        out[256:768, 256:768] = 1
        return out

    for escalate in ("off", "force"):
        for holes in (False, True):
            res = run(png_bytes(rgb), square, options=Options(escalate=escalate, holes=holes))
            a = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
            assert a[56:144, 56:144].min() == 255, (escalate, holes)
    assert not res.report["second_opinions"]["colorkey"]["applied"]


def test_a_colour_key_that_agrees_with_the_model_draws_the_edge_it_hedged_on():
    """A studio shot: the model finds the subject but blurs its soft edge; the colour key agrees
    where the model is sure, so inside the model's band its edge is taken."""
    rows, cols = 300, 400
    rr, cc = np.mgrid[:rows, :cols]
    d = np.hypot(rr - 150, cc - 200)
    truth = np.clip((110 - d) / 12, 0, 1)  # a soft edge 12 px wide, like fur
    rgb = np.rint(truth[..., None] * [200, 60, 30] + (1 - truth[..., None]) * [40, 165, 70]).astype(np.uint8)

    async def blurred(x):
        r, c = np.mgrid[:1024, :1024]
        dd = np.hypot((r + 0.5) * rows / 1024 - 150, (c + 0.5) * cols / 1024 - 200)
        return np.clip((125 - dd) / 40, 0, 1).astype(np.float32)  # right place, edge 3x too wide

    def sad(options):
        res = run(png_bytes(rgb), blurred, options=options)
        a = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3] / 255
        return np.abs(a - truth).sum(), res.report

    model_only, _ = sad(Options(method="model", escalate="off", refine=False))
    auto, report = sad(Options(escalate="off", refine=False))
    assert report["method"] == "model" and report["second_opinions"]["colorkey"]["applied"]
    assert auto < 0.5 * model_only, (auto, model_only)


def test_a_hard_edged_matte_stays_hard():
    """A crisp model edge is not softened by refinement: the result is as sharp as the
    model's own edge, on a photo whose colours would pull a guided filter off it."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(100, 160, (512, 768, 3)).astype(np.uint8)  # a textured photo, no clear edge
    rr, cc = np.mgrid[:1024, :1024]
    disc = (((rr - 512) ** 2 + (cc - 512) ** 2) < 300 ** 2).astype(np.float32)

    async def crisp(x):
        return disc

    res = run(png_bytes(rgb), crisp, options=Options(method="model", escalate="off", decontaminate=0))
    a = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    soft = (a > 0) & (a < 255)
    # The model's edge: one pixel in 1024, upsampled to at most 0.75 px here; allow a 2-pixel ring.
    perimeter = 2 * np.pi * 300 * 0.75
    assert soft.sum() < 2 * perimeter, soft.sum()


class TwoPasses:
    """A fake model: the first call (squashed input) hedges at 0.5 over the subject's top half;
    the second (letterboxed) returns a clean disc in the padded frame."""

    def __init__(self, fail_second=False):
        self.calls = []
        self.fail_second = fail_second

    async def __call__(self, x):
        self.calls.append(x)
        rr, cc = np.mgrid[:1024, :1024]
        disc = (((rr - 512) ** 2 + (cc - 512) ** 2) < 200 ** 2).astype(np.float32)
        if len(self.calls) == 1:
            disc[:512] *= 0.5
            return disc
        if self.fail_second:
            raise RuntimeError("out of memory")
        return disc


def subject_photo():
    rr, cc = np.mgrid[:300, :400]
    rgb = np.random.default_rng(1).integers(90, 140, (300, 400, 3)).astype(np.uint8)
    rgb[((rr - 150) ** 2 + (cc - 200) ** 2) < 58 ** 2] = (220, 40, 30)
    return png_bytes(rgb)


def test_a_hedged_first_result_escalates_to_the_letterboxed_input_where_it_was_unsure():
    infer = TwoPasses()
    res = run(subject_photo(), infer, options=Options(method="model"))
    assert len(infer.calls) == 2
    lb = infer.calls[1][0]
    assert np.ptp(lb[:, :100]) == 0 and np.ptp(lb[:, 150:850]) > 0  # padded above and below the 4:3 photo
    esc = res.report["escalation"]
    assert esc["ran"] and esc["kept"] == "second", esc
    assert esc["first"]["verdict"] != "good" and esc["first"]["path"] == "model, squashed input"
    assert esc["second"]["path"].startswith("model, letterboxed input") and esc["ms"] >= 0
    assert res.report["quality"]["verdict"] == esc["second"]["verdict"]
    assert "letterboxed pass" in res.report["second_opinions"]
    alpha = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    # The top half was hedged at 0.5: the second pass may move it by at most DELTA there.
    assert alpha[150, 200] == 255 and alpha[20, 200] == 0
    # The kept matte comes back in squash geometry: a re-run from it needs no model.
    again = run(subject_photo(), None, coarse=res.coarse)
    assert again.report["escalation"] == {"ran": False, "why": "post-processing only: the earlier result's matte is reused"}
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(again.png)))[..., 3], alpha)


def test_a_second_pass_that_lowers_what_the_first_hedged_on_is_not_admitted():
    """The letterboxed pass gives the photo fewer pixels; where it fades what the squashed one
    hedged on, the first result stands (alphacut.matte.anchor.lift)."""
    class Fading(TwoPasses):
        async def __call__(self, x):
            out = await super().__call__(x)
            if len(self.calls) == 2:
                out[:512] *= 0.2
            return out

    res = run(subject_photo(), Fading(), options=Options(method="model", escalate="force"))
    esc = res.report["escalation"]
    assert esc["ran"] and not esc["admitted"] and esc["lift"] < 0, esc
    assert esc["second"]["path"] == "model, squashed input (the letterboxed one lowered its unsure parts)"
    first = run(subject_photo(), TwoPasses(), options=Options(method="model", escalate="off"))
    np.testing.assert_array_equal(res.coarse, first.coarse)  # the kept matte is the first pass's


def test_a_second_pass_that_loses_the_subject_cannot_take_the_result_with_it():
    class Lost(TwoPasses):
        async def __call__(self, x):
            out = await super().__call__(x)
            return out if len(self.calls) == 1 else np.zeros_like(out)

    res = run(subject_photo(), Lost(), options=Options(method="model", escalate="force"))
    alpha = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    assert res.report["escalation"]["ran"] and alpha[200, 200] == 255  # the sure half stays
    # the subject counts the hedged top half too (alpha 0.5), so the sure disc half is about a tenth of it
    assert res.report["second_opinions"]["letterboxed pass"]["removed"] > 0.05


def test_escalation_off_and_a_failing_second_pass_keep_the_first_result():
    infer = TwoPasses()
    res = run(subject_photo(), infer, options=Options(method="model", escalate="off"))
    assert len(infer.calls) == 1 and res.report["escalation"] == {"ran": False, "why": "turned off"}
    infer = TwoPasses(fail_second=True)
    res = run(subject_photo(), infer, options=Options(method="model"))
    esc = res.report["escalation"]
    assert not esc["ran"] and "higher-quality path failed: out of memory" in esc["why"], esc
    assert res.report["quality"]["verdict"] == esc["first"]["verdict"]


def test_forced_escalation_runs_on_a_good_result():
    res = run(subject_photo(), TwoPasses(), options=Options(method="model", escalate="force"))
    assert res.report["escalation"]["ran"] and res.report["escalation"]["why"] == "asked for"
    with pytest.raises(ValueError, match="escalate must be one of"):
        Options(escalate="sometimes")


def test_holes_open_only_where_the_model_is_unsure():
    rr, cc = np.mgrid[:300, :400]
    d2 = (rr - 150) ** 2 + (cc - 200) ** 2
    rgb = np.full((300, 400, 3), 245, np.uint8)
    rgb[(d2 < 70 ** 2) & (d2 >= 35 ** 2)] = (200, 40, 30)  # a red ring on white

    def model(hole_value):
        async def infer(x):
            r, c = np.mgrid[:1024, :1024]
            e2 = (r - 512) ** 2 + (c - 512) ** 2
            out = (e2 < (70 * 1024 / 300) ** 2).astype(np.float32)
            out[e2 < (30 * 1024 / 400) ** 2] = hole_value
            return out
        return infer

    alphas = {}
    for value in (1.0, 0.6):  # the model fills the hole surely, or hedges there
        for holes in (True, False):
            res = run(png_bytes(rgb), model(value), options=Options(method="model", escalate="off", holes=holes))
            alphas[value, holes] = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    assert alphas[1.0, True][150, 200] == 255  # sure: no step may open it
    assert alphas[0.6, False][150, 200] > 100 and alphas[0.6, True][150, 200] < 60  # unsure: opened
    ring = (d2 < 65 ** 2) & (d2 >= 40 ** 2)
    assert alphas[0.6, True][ring].min() == 255  # the ring itself stays


def test_the_report_says_why_the_model_ran():
    busy = np.random.default_rng(0).integers(0, 256, (100, 120, 3), dtype=np.uint8)
    r = run(png_bytes(busy), DiscInfer(), options=Options(escalate="off")).report
    assert r["method"] == "model" and r["method_reason"].startswith("The background is not plain"), r
    r = run(png_bytes(busy[:10, :10]), DiscInfer(), options=Options(escalate="off")).report
    assert r["method_reason"] == "the photo is too small for the colour key"
    r = run(png_bytes(busy), DiscInfer(), options=Options(method="model", escalate="off")).report
    assert r["method_reason"] == "the model was asked for"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("shape", [(16, 10000), (3, 4000), (1, 5000), (4000, 3), (1, 1)])
def test_any_size_the_decoder_accepts_gives_an_output_of_that_size(shape):
    rgb = np.full((*shape, 3), 240, np.uint8)
    rgb[:, shape[1] // 3 : 2 * shape[1] // 3] = (200, 30, 30)
    for options in (Options(), Options(holes=True, escalate="force")):
        res = run(png_bytes(rgb), DiscInfer(), options=options)
        assert Image.open(io.BytesIO(res.png)).size == shape[::-1]


def test_the_models_haze_over_sure_background_and_subject_is_settled():
    """The model's faint haze (1 %) over the background and its 99 % over the subject come out
    as exactly transparent and exactly opaque; its edge is kept."""
    rgb = np.full((256, 256, 3), 120, np.uint8)

    async def hazy(x):
        out = np.full((1024, 1024), 0.01, np.float32)
        out[256:768, 256:768] = 0.99
        out[256:768, 255] = 0.5
        return out

    res = run(png_bytes(rgb), hazy, options=Options(method="model", escalate="off"))
    a = np.asarray(Image.open(io.BytesIO(res.png)))[..., 3]
    assert a[:40].max() == 0 and a[80:176, 80:176].min() == 255
    assert 0 < a[128, 63] < 255 or 0 < a[128, 64] < 255  # the edge itself is the model's
