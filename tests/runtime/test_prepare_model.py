"""The prepared graph variants that the build writes (tools/prepare_model.py, via `make deps`)."""
from __future__ import annotations

import collections

import numpy as np
import pytest
from PIL import Image

from alphacut.models import get_model
from alphacut.runtime.ort_backend import OrtInfer, default_model_path
from alphacut.matte.prepare import to_model_input

@pytest.fixture(scope="module")
def graphs():
    onnx = pytest.importorskip("onnx")
    out = {}
    for name in get_model("isnet").variants:
        path = default_model_path("isnet", name)
        if not path.is_file():
            pytest.skip(f"{path} is missing; run `make deps`")
        out[name] = onnx.load(str(path))
    return out


def _ops(model):
    return collections.Counter(n.op_type for n in model.graph.node)


def test_fp32_is_folded_and_has_no_ceil_mode(graphs):
    ops = _ops(graphs["fp32"])
    assert not {"Shape", "Slice", "Constant"} & set(ops), ops  # the Resize sizes are constants
    assert ops["Conv"] == 114 and ops["MaxPool"] == 33 and ops["Resize"] == 34
    for model in graphs.values():
        for node in model.graph.node:
            if node.op_type == "MaxPool":
                assert {a.name: a.i for a in node.attribute}.get("ceil_mode", 0) == 0, node.name
    assert [o.name for o in graphs["fp32"].graph.output] == ["output"]


def test_int8_quantises_every_conv(graphs):
    ops = _ops(graphs["int8"])
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > ops["QuantizeLinear"]
    weights = {i.name: i for i in graphs["int8"].graph.initializer}
    producer = {o: n for n in graphs["int8"].graph.node for o in n.output}
    for conv in (n for n in graphs["int8"].graph.node if n.op_type == "Conv"):
        dq = producer[conv.input[1]]  # the weight comes through a DequantizeLinear of int8 data
        assert dq.op_type == "DequantizeLinear" and weights[dq.input[0]].data_type == 3, conv.name  # INT8


def test_variants_agree_on_a_photo():
    """int8 against fp32 on a photo that is not one of the calibration photos."""
    from skimage import data

    spec = get_model("isnet")
    paths = {name: default_model_path("isnet", name) for name in ("fp32", "int8")}
    if not all(p.is_file() for p in paths.values()):
        pytest.skip("prepared graphs missing; run `make deps`")
    rgb = np.asarray(Image.fromarray(data.camera()).convert("RGB"))  # a photographer on a lawn
    x = to_model_input(rgb, spec)
    alpha = {name: OrtInfer(p, threads=2).run(x) for name, p in paths.items()}
    diff = np.abs(alpha["int8"] - alpha["fp32"])
    assert diff.mean() < 0.01 and np.quantile(diff, 0.99) < 0.1, (diff.mean(), np.quantile(diff, 0.99))
    # the same cut-out: what is confidently foreground in one is in the other
    assert ((alpha["fp32"] > 0.5) == (alpha["int8"] > 0.5)).mean() > 0.99
