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


def test_int8_is_integer_and_optimised(graphs):
    """Every convolution is an integer one with int8 weights, fused and channels-last as onnxruntime's
    level-all optimisation leaves it (the build applies it offline), with nothing x86-specific."""
    model = graphs["int8"]
    ops = collections.Counter((n.domain or "ai.onnx", n.op_type) for n in model.graph.node)
    weights = {i.name: i for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    assert len(convs) == ops[("com.microsoft", "QLinearConv")] > 114  # 114 convolutions, some in strips
    for conv in convs:
        assert weights[conv.input[3]].data_type == 3, conv.name  # INT8
        assert {a.name: a.i for a in conv.attribute}.get("channels_last") == 1, conv.name
    assert not {"Conv", "Add", "Sigmoid"} & {op for _, op in ops}, ops  # nothing left in float
    assert not any(domain == "com.microsoft.nchwc" for domain, _ in ops), ops
    assert get_model("isnet").variants["int8"]["optimised"] == "all"  # the page disables its own pass


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


def _qdq_conv(cin=8, cout=4, rows=37, cols=11, kernel=3, stride=1, dilation=1, pads=(1, 1, 1, 1), group=1):
    """A DequantizeLinear -> Conv -> QuantizeLinear graph, as onnxruntime's quantiser writes them."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    # 7-bit weights: onnxruntime's x86 kernels without VNNI (AVX2) add pairs of uint8 x int8
    # products in int16, with saturation, which weights of up to 127 can reach (its documented
    # "reduce_range" case); up to 63, no pair can (2 x 255 x 63 < 32768), so the results are the
    # same on every x86 CPU.
    w = rng.integers(-63, 64, (cout, cin // group, kernel, kernel), dtype=np.int8)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.full(cout, 0.01, np.float32), "ws"),
             numpy_helper.from_array(np.zeros(cout, np.int8), "wz"),
             numpy_helper.from_array(rng.integers(-500, 500, cout, dtype=np.int32), "b"),
             numpy_helper.from_array(np.full(cout, 0.02 * 0.01, np.float32), "bs"),
             numpy_helper.from_array(np.zeros(cout, np.int32), "bz"),
             numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
             numpy_helper.from_array(np.array(128, np.uint8), "xz"),
             numpy_helper.from_array(np.array(0.05, np.float32), "ys"),
             numpy_helper.from_array(np.array(120, np.uint8), "yz")]
    nodes = [helper.make_node("QuantizeLinear", ["input", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["x"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=0),
             helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bf"], axis=0),
             helper.make_node("Conv", ["x", "wf", "bf"], ["y"], name="conv", kernel_shape=[kernel, kernel],
                              strides=[stride, stride], dilations=[dilation, dilation], pads=list(pads), group=group),
             helper.make_node("QuantizeLinear", ["y", "ys", "yz"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["output"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, cin, rows, cols])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["n", "c", "h", "w"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _run(model, x, level):
    ort = pytest.importorskip("onnxruntime")
    so = ort.SessionOptions()
    so.graph_optimization_level = level(ort)
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]


@pytest.mark.parametrize("kernel, stride, dilation, pads", [
    (3, 1, 1, (1, 1, 1, 1)), (3, 2, 1, (1, 1, 1, 1)), (3, 1, 2, (2, 2, 2, 2)), (5, 1, 1, (0, 2, 3, 1)),
    (1, 1, 1, (0, 0, 0, 0))])
def test_split_convolutions_gives_the_same_output(kernel, stride, dilation, pads):
    from alphacut.runtime.prepare_graph import split_convolutions

    model = _qdq_conv(kernel=kernel, stride=stride, dilation=dilation, pads=pads)
    split = _qdq_conv(kernel=kernel, stride=stride, dilation=dilation, pads=pads)
    rows_out = (37 + pads[0] + pads[2] - dilation * (kernel - 1) - 1) // stride + 1
    cols_out = (11 + pads[1] + pads[3] - dilation * (kernel - 1) - 1) // stride + 1
    per_row = cols_out * 8 * kernel * kernel  # bytes of the patch matrix per output row
    assert split_convolutions(split, max_bytes=per_row * -(-rows_out // 4)) == 1  # four strips
    pytest.importorskip("onnx").checker.check_model(split)
    ops = _ops(split)
    assert ops["Conv"] == ops["Slice"] == 4 and ops["Concat"] == 1, ops
    x = np.random.default_rng(2).uniform(-2.5, 2.5, (1, 8, 37, 11)).astype(np.float32)
    for level in (lambda o: o.GraphOptimizationLevel.ORT_DISABLE_ALL, lambda o: o.GraphOptimizationLevel.ORT_ENABLE_ALL):
        whole, strips = _run(model, x, level), _run(split, x, level)
        assert whole.shape == strips.shape == (1, 4, rows_out, cols_out)
        np.testing.assert_array_equal(strips, whole)


def test_split_convolutions_leaves_small_and_grouped_ones():
    from alphacut.runtime.prepare_graph import split_convolutions

    small = _qdq_conv()
    assert split_convolutions(small, max_bytes=37 * 11 * 8 * 9) == 0 and _ops(small)["Conv"] == 1
    grouped = _qdq_conv(group=2)
    assert split_convolutions(grouped, max_bytes=16) == 0 and _ops(grouped)["Conv"] == 1


def test_optimise_offline_fuses_and_gives_the_same_output(tmp_path):
    """The offline pass leaves an integer convolution that, run with optimisation disabled (as the
    page runs it), gives what the QDQ graph gives when onnxruntime optimises it at load time."""
    onnx = pytest.importorskip("onnx")
    from alphacut.runtime.prepare_graph import optimise_offline

    model = _qdq_conv(kernel=3, stride=2, pads=(1, 1, 1, 1))
    onnx.save(model, tmp_path / "qdq.onnx")
    optimise_offline(str(tmp_path / "qdq.onnx"), str(tmp_path / "opt.onnx"))
    opt = onnx.load(tmp_path / "opt.onnx")
    ops = _ops(opt)
    assert ops["QLinearConv"] == 1 and "Conv" not in ops, ops
    x = np.random.default_rng(3).uniform(-2.5, 2.5, (1, 8, 37, 11)).astype(np.float32)
    fused_at_load = _run(model, x, lambda o: o.GraphOptimizationLevel.ORT_ENABLE_ALL)
    unfused = _run(model, x, lambda o: o.GraphOptimizationLevel.ORT_DISABLE_ALL)
    offline = _run(opt, x, lambda o: o.GraphOptimizationLevel.ORT_DISABLE_ALL)
    np.testing.assert_array_equal(offline, fused_at_load)
    assert np.abs(offline - unfused).max() <= 0.05 + 1e-6  # and within one output step of the float path


def test_int8_needs_no_large_patch_matrix(graphs):
    """Every integer convolution of the shipped int8 graph lays out at most SPLIT_BYTES (was 288 MiB).

    The patch matrix is output pixels x input channels x kernel taps, in bytes; the output sizes
    are read from a run of the graph (channels-last operators have no ONNX shape inference).
    """
    import onnx
    import onnxruntime as ort

    from alphacut.runtime.prepare_graph import SPLIT_BYTES

    model = onnx.ModelProto()
    model.CopyFrom(graphs["int8"])
    weights = {i.name: i.dims for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n.output[0]) for n in convs)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    outs = sess.run([n.output[0] for n in convs], {"input": np.zeros((1, 3, 1024, 1024), np.float32)})
    sizes = []
    for conv, out in zip(convs, outs):
        _, cin, kh, kw = weights[conv.input[3]]
        _, rows, cols, _ = out.shape  # channels-last
        sizes.append(rows * cols * cin * kh * kw)
    assert len(sizes) > 114 and max(sizes) <= SPLIT_BYTES, (len(sizes), max(sizes))
