"""Prepare the IS-Net graphs from the verified original (the build and the CLI's first run share this).

Variant ``fp32`` (for WebGPU, and for CPython): the published graph carries fp16 weights with
Cast-to-fp16 nodes, and MaxPools with ``ceil_mode=1``. :func:`prepare_fp32`

1. converts every fp16 initializer and Constant to fp32, and retargets the Casts to fp32
   (so WASM runs fp32 kernels, and SwiftShader's WebGPU, which has no f16, can run it);
2. keeps only the ``output`` head (the side heads are training aids) and sorts the nodes
   topologically, which the published file does not;
3. sets ``ceil_mode=0`` on every MaxPool: ORT-web's WebGPU MaxPool lacks ceil_mode, and at
   the fixed 1024x1024 input every pooled size is even, so the result is identical;
4. folds constants for the fixed input with onnxruntime's basic offline optimisation (the
   level whose output is portable across execution providers): the Shape/Slice/Concat/Cast
   chains that compute each Resize's size become constants, 652 nodes become 356.

:func:`graph_alpha` then checks the result against the original with onnxruntime on
a fixed input; the caller fails if it exceeds ``TOLERANCE["fp32"]``.

Variant ``int8`` (for WASM), from the fp32 variant: static QDQ quantisation with onnxruntime's
quantiser, per-channel int8 weights and uint8 activations. The activation ranges are not
measured here (their floats would depend on the CPU), but read from the calibration file
shipped in the package, :data:`CALIBRATION`, so the graph's bytes are reproducible
(``tools/prepare_model.py --calibrate`` regenerates it). The check uses ``TOLERANCE["int8"]``.
Then :func:`split_convolutions` runs each convolution whose working buffer would exceed
:data:`SPLIT_BYTES` on strips of its output rows, for memory: the result is checked to be
identical to the unsplit graph's. Last, :func:`optimise_offline` applies onnxruntime's own graph
optimisations (level ``all``: the QDQ groups fused into integer operators, the layout changed to
channels-last) ahead of time, so that the page's session has nothing left to rewrite (it runs the
graph with optimisation disabled: ``"optimised": "all"`` in the manifest); the result is checked to
be identical to the graph optimised at load time.

Needs the ``onnx`` and ``onnxruntime`` packages (the ``onnxruntime`` extra brings both, pinned:
the prepared bytes, checked against the manifest's sha256, depend on their versions).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

#: The committed activation ranges of the int8 variant.
CALIBRATION = Path(__file__).resolve().parent / "calibration" / "isnet-int8.json"
#: max |alpha difference| against the original on the fixed input: fp16 rounding for fp32;
#: for int8, what 8-bit activations cost (measured 0.02 on this input; the quality benchmark
#: is the real check: see BENCHMARKS.md).
TOLERANCE = {"fp32": 2e-3, "int8": 0.05}
#: The largest im2col buffer a quantised convolution of the int8 variant may need (bytes).
SPLIT_BYTES = 16 << 20


def to_fp32(model: onnx.ModelProto) -> int:
    """Convert fp16 initializers, Constants and Casts to fp32 in place; return the count."""
    changed = 0
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT16:
            arr = numpy_helper.to_array(init).astype(np.float32)
            graph.initializer[i].CopyFrom(numpy_helper.from_array(arr, init.name))
            changed += 1
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
                changed += 1
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT16:
                arr = numpy_helper.to_array(attr.t).astype(np.float32)
                attr.t.CopyFrom(numpy_helper.from_array(arr, attr.t.name))
                changed += 1
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    return changed


def floor_maxpools(model: onnx.ModelProto) -> int:
    """Set ceil_mode=0 on every MaxPool in place; return how many were changed."""
    changed = 0
    for node in model.graph.node:
        if node.op_type == "MaxPool":
            for attr in node.attribute:
                if attr.name == "ceil_mode" and attr.i != 0:
                    attr.i = 0
                    changed += 1
    return changed


def keep_output_only(model: onnx.ModelProto, name: str) -> int:
    """Drop every graph output but ``name`` and the nodes only they needed; sort the rest.

    The published graph lists its nodes out of topological order (the onnx checker rejects
    it); the kept nodes are written back in dependency order. Returns the count dropped.
    """
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    needed, stack = set(), [name]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and id(node) not in needed:
            needed.add(id(node))
            stack.extend(node.input)
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = [n for n in graph.node if id(n) in needed]
    ordered = []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ValueError("graph has a cycle or a dangling input")
        for n in ready:
            available.update(n.output)
        ordered.extend(ready)
        ready_ids = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in ready_ids]
    dropped = len(graph.node) - len(ordered)
    kept_outputs = [o for o in graph.output if o.name == name]
    del graph.node[:]
    graph.node.extend(ordered)
    del graph.output[:]
    graph.output.extend(kept_outputs)
    used = {i for n in ordered for i in n.input}
    kept_inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    return dropped


def fold_constants(src: str, dst: str) -> None:
    """Write ``src`` after onnxruntime's basic (portable) graph optimisation to ``dst``."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = dst
    so.log_severity_level = 3
    ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def optimise_offline(src: str, dst: str) -> None:
    """Write ``src`` after onnxruntime's full graph optimisation (level ``all``) to ``dst``.

    What ONNX Runtime Web would otherwise do in every new tab, as the page creates the session:
    fuse each DequantizeLinear -> op -> QuantizeLinear group into an integer operator
    (``QLinearConv``, ``QLinearAdd``...) and move the integer convolutions to channels-last. The
    options pin what would depend on the building machine: int8 activations are not allowed (as
    on x86 and in WASM; ARM builds would allow them) and weights are not prepacked (prepacked
    weights are not saved anyway). The caller checks that nothing platform-specific (the
    ``com.microsoft.nchwc`` operators of x86's float convolutions) is left in the graph.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = dst
    so.log_severity_level = 3
    so.add_session_config_entry("session.qdqisint8allowed", "0")
    so.add_session_config_entry("session.disable_prepacking", "1")
    ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def quantize_int8(fp32: str, dst: str, calibration: Path = CALIBRATION) -> None:
    """Static QDQ quantisation of the fp32 variant, with the committed activation ranges."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not calibration.is_file():
        raise FileNotFoundError(f"{calibration} is missing; run tools/prepare_model.py --calibrate")
    quantize_static(fp32, dst, None, calibration_cache_path=str(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)


def split_convolutions(model: onnx.ModelProto, max_bytes: int = SPLIT_BYTES) -> int:
    """Run each large quantised convolution on strips of its output rows, in place; return the count.

    ONNX Runtime's integer convolution (``QLinearConv``, which its optimiser makes of every
    ``DequantizeLinear -> Conv -> QuantizeLinear``) lays out the whole input patch matrix at once:
    output pixels x input channels x kernel taps bytes, 288 MiB for IS-Net's largest (128
    channels in, 3 x 3, 512 x 512 out). WebAssembly memory never shrinks, so the tab keeps that
    much for as long as it is open. Here each such convolution whose matrix would exceed
    ``max_bytes`` becomes, for each strip of output rows: ``Slice`` of its quantised input (the
    rows the strip reads, halo included) -> ``DequantizeLinear`` -> ``Conv`` (the same weights,
    padded only at the image's own edges) -> ``QuantizeLinear``, and a ``Concat`` of the strips
    along the rows. Each output pixel is computed from the same integers by the same kernel, so
    the output is unchanged; :func:`prepare` checks that it is identical.

    Only convolutions in that quantised form, with one group and one consumer, are split.
    The shapes come from ONNX shape inference, so the graph's input size must be fixed.
    """
    from onnx import helper, shape_inference

    graph = model.graph
    inferred = shape_inference.infer_shapes(model, strict_mode=True).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in (*inferred.value_info, *inferred.input, *inferred.output)}
    weights = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for name in n.input:
            consumers.setdefault(name, []).append(n)

    def quantised(node) -> bool:
        return node is not None and node.op_type == "DequantizeLinear"

    plans, removed = {}, set()
    for conv in graph.node:
        if conv.op_type != "Conv":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        x, w = producer.get(conv.input[0]), producer.get(conv.input[1])
        b = producer.get(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else None
        after = consumers.get(conv.output[0], [])
        in_form = (quantised(x) and quantised(w) and w.input[0] in weights and (b is None or quantised(b))
                   and len(after) == 1 and after[0].op_type == "QuantizeLinear")
        if not in_form or attrs.get("group", 1) != 1 or attrs.get("auto_pad", b"NOTSET") != b"NOTSET":
            continue
        _, taps_in, kh, kw = weights[w.input[0]].dims
        rows_out, cols_out = shapes[conv.output[0]][2:]
        per_row = cols_out * taps_in * kh * kw
        if rows_out * per_row <= max_bytes:
            continue
        strips = -(-rows_out // max(1, max_bytes // per_row))  # so that no strip exceeds max_bytes
        plans[conv.name] = (attrs, x, w, b, after[0], strips, shapes[conv.input[0]][2], rows_out, kh)
        removed |= {id(after[0]), id(w)} | ({id(b)} if b is not None else set())
        if len(consumers[x.output[0]]) == 1:
            removed.add(id(x))

    nodes, constants = [], []

    def constant(name: str, value: int) -> str:
        constants.append(numpy_helper.from_array(np.array([value], np.int64), name))
        return name

    def copy(node, inputs, output, name):
        new = helper.make_node(node.op_type, inputs, [output], name=name)
        new.attribute.extend(node.attribute)
        return new

    for node in graph.node:
        if id(node) in removed:
            continue
        if node.name not in plans:
            nodes.append(node)
            continue
        attrs, x, w, b, q, strips, rows_in, rows_out, kh = plans[node.name]
        stride = attrs.get("strides", [1, 1])[0]
        dilation = attrs.get("dilations", [1, 1])[0]
        top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
        edges = np.linspace(0, rows_out, strips + 1).round().astype(int)
        pieces = []
        for i, (first, stop) in enumerate(zip(edges[:-1], edges[1:])):
            start = int(first) * stride - top  # the input rows this strip reads, padding included
            end = (int(stop) - 1) * stride - top + dilation * (kh - 1) + 1
            tag = f"{node.name}/strip{i}"
            inputs = [tag + "/x", tag + "/w"] + ([tag + "/b"] if b is not None else [])
            nodes += [
                helper.make_node("Slice", [x.input[0], constant(tag + "/start", max(start, 0)),
                                           constant(tag + "/end", min(end, rows_in)), constant(tag + "/axis", 2)],
                                 [tag + "/xq"], name=tag + "/Slice"),
                copy(x, [tag + "/xq", *x.input[1:]], tag + "/x", tag + "/DequantizeX"),
                copy(w, list(w.input), tag + "/w", tag + "/DequantizeW"),
                *([copy(b, list(b.input), tag + "/b", tag + "/DequantizeB")] if b is not None else []),
                helper.make_node("Conv", inputs, [tag + "/y"], name=tag + "/Conv",
                                 **{**attrs, "pads": [max(-start, 0), left, max(end - rows_in, 0), right]}),
                copy(q, [tag + "/y", *q.input[1:]], tag + "/yq", tag + "/Quantize"),
            ]
            pieces.append(tag + "/yq")
        nodes.append(helper.make_node("Concat", pieces, [q.output[0]], name=node.name + "/Concat", axis=2))
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(constants)
    return len(plans)


def graph_alpha(path: str, *, optimised: bool = False) -> np.ndarray:
    """A graph's alpha for one fixed pseudo-random input, with onnxruntime.

    ``optimised``: the graph was optimised offline (:func:`optimise_offline`) and runs with
    onnxruntime's optimisations disabled, as the page runs it; otherwise at the default level.
    """
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = (rng.random((1, 3, 1024, 1024), dtype=np.float32) - 0.5).astype(np.float32)
    so = ort.SessionOptions()
    if optimised:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(["output"], {"input": x})[0]


def prepare_fp32(src: str, dst: str) -> str:
    """Steps 1-4 of the module docstring; return a one-line summary."""
    import tempfile

    model = onnx.load(src)
    n_fp = to_fp32(model)
    n_pool = floor_maxpools(model)
    n_dropped = keep_output_only(model, "output")
    onnx.checker.check_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        unfolded = str(Path(tmp) / "unfolded.onnx")
        onnx.save(model, unfolded)
        fold_constants(unfolded, dst)
    folded = onnx.load(dst)
    onnx.checker.check_model(folded)
    return (f"{n_fp} fp16 items -> fp32, {n_pool} MaxPools ceil_mode=0, {n_dropped} side-head nodes dropped, "
            f"constants folded: {len(model.graph.node)} -> {len(folded.graph.node)} nodes")


def prepare(variant: str, original: str, dst: str, fp32: str | None = None) -> str:
    """Write ``variant`` of ``original`` to ``dst`` and check it against the original.

    Parameters
    ----------
    variant : {"fp32", "int8"}
    original : str
        The verified published graph.
    dst : str
        Where to write the prepared graph.
    fp32 : str, optional
        The prepared fp32 graph, which ``int8`` is quantised from (required for it).

    Returns
    -------
    str
        A one-line summary, with the largest alpha difference against the original.

    Raises
    ------
    ValueError
        An unknown variant, ``int8`` without ``fp32``, or a result beyond ``TOLERANCE``.
    """
    prepared = None  # the prepared graph's alpha, where a step below has computed it
    if variant == "fp32":
        summary = prepare_fp32(original, dst)
    elif variant == "int8" and fp32:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            whole = str(Path(tmp) / "whole.onnx")
            quantize_int8(fp32, whole)
            model = onnx.load(whole)
            n_split = split_convolutions(model)
            onnx.checker.check_model(model)
            split = str(Path(tmp) / "split.onnx")
            onnx.save(model, split)
            unsplit = graph_alpha(whole)
            if not np.array_equal(graph_alpha(split), unsplit):
                raise ValueError("the int8 graph with its convolutions in strips does not give the same alpha")
            optimise_offline(split, dst)
            if any(n.domain == "com.microsoft.nchwc" for n in onnx.load(dst).graph.node):
                raise ValueError("the optimised int8 graph has x86-specific (nchwc) operators")
            prepared = graph_alpha(dst, optimised=True)
            if not np.array_equal(prepared, unsplit):  # the split graph's alpha is the unsplit one's
                raise ValueError("the int8 graph optimised offline does not give the same alpha")
        summary = (f"static QDQ int8 from {Path(fp32).name} with {CALIBRATION.name}; {n_split} convolutions "
                   f"in strips (im2col <= {SPLIT_BYTES >> 20} MiB), then optimised offline (level all); "
                   f"output identical at each step")
    else:
        raise ValueError(f"cannot prepare variant {variant!r} (int8 needs the fp32 graph); known: fp32, int8")
    if prepared is None:
        prepared = graph_alpha(dst)
    diff = float(np.abs(graph_alpha(original) - prepared).max())
    if not diff <= TOLERANCE[variant]:
        raise ValueError(f"the prepared {variant} graph differs from the original by {diff:.2e} in alpha, "
                         f"beyond the tolerance of {TOLERANCE[variant]:g}")
    return f"{variant}: {summary}; max |d alpha| vs original = {diff:.2e} (tolerance {TOLERANCE[variant]:g})"
