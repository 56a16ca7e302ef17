"""Every file of the bad-input corpus decodes, or fails, as its entry in the table says.

The table and the builders are in ``tests/corpus/generate.py``; TESTING.md shows the table.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from alphacut.io import decode as decoder
from alphacut.io.decode import MAX_PIXELS, DecodeError, decode
from corpus import generate
from corpus.generate import CASES, Decodes
from support import ROOT


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict:
    """The whole corpus, written to a temporary folder as the generator's --out writes it."""
    paths = generate.write(tmp_path_factory.mktemp("corpus"))
    return {path.name: path for path in paths}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_file(case, corpus, tmp_path):
    data = corpus[case.name].read_bytes()
    if isinstance(case.expect, Decodes):
        decoded = decode(data)
        problems = case.expect.problems(decoded)
        if problems and case.expect.pixels is not None and decoded.rgb.shape[:2] == case.expect.shape:
            _write_side_by_side(tmp_path, decoded, case.expect.pixels())
            problems.append(f"actual and expected images written to {tmp_path}")
    else:
        with pytest.raises(DecodeError) as raised:
            decode(data)
        problems = case.expect.problems(str(raised.value))
    assert not problems, f"{case.name}: " + "; ".join(problems)


def _write_side_by_side(folder, decoded, expected: np.ndarray) -> None:
    actual = decoded.rgb if expected.shape[-1] == 3 else np.dstack([decoded.rgb, decoded.alpha])
    Image.fromarray(np.ascontiguousarray(actual)).save(folder / "actual.png")
    Image.fromarray(np.ascontiguousarray(expected)).save(folder / "expected.png")


def test_corpus_covers_the_issue():
    names = [case.name for case in CASES]
    assert len(names) >= 40
    assert len(set(names)) == len(names)
    assert {f"exif-orientation-{o}.jpg" for o in range(1, 9)} <= set(names)


def test_table_states_the_decoder_limit():
    assert generate.LIMIT_MP * 1_000_000 == MAX_PIXELS
    assert (generate.MAX_PAGES, generate.MAX_SCANS) == (decoder.MAX_PAGES, decoder.MAX_SCANS)
    for name in ("MANY_PAGES", "MANY_SCANS", "HUGE_TILE", "TOO_BIG"):
        assert getattr(generate, name).split("{}")[0] == getattr(decoder, name).split("{}")[0], name


def test_testing_md_shows_the_current_table():
    assert generate.markdown() in (ROOT / "TESTING.md").read_text(encoding="utf-8"), (
        "TESTING.md is stale: paste in the output of `python tests/corpus/generate.py --markdown`")


def test_generation_is_deterministic():
    """Two builds give the same bytes (the 40 MP photo is left out: it takes a second)."""
    def digests():
        for cached in (generate.gradient, generate.ramp16, generate.upright, generate.small_png,
                       generate.small_jpeg, generate.medium_jpeg):
            cached.cache_clear()
        return [hashlib.sha256(case.build()).hexdigest() for case in CASES if case.name != "photo-40mp.jpg"]

    assert digests() == digests()


def test_markdown_flag_prints_the_table(capsys):
    assert generate.main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert out == generate.markdown()
    assert all(f"`{case.name}`" in out for case in CASES)
