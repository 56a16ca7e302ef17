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

:func:`max_alpha_difference` then checks the result against the original with onnxruntime on
a fixed input; the caller fails if it exceeds ``TOLERANCE["fp32"]``.

Variant ``int8`` (for WASM), from the fp32 variant: static QDQ quantisation with onnxruntime's
quantiser, per-channel int8 weights and uint8 activations. The activation ranges are not
measured here (their floats would depend on the CPU), but read from the calibration file
shipped in the package, :data:`CALIBRATION`, so the graph's bytes are reproducible
(``tools/prepare_model.py --calibrate`` regenerates it). The check uses ``TOLERANCE["int8"]``.

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


def quantize_int8(fp32: str, dst: str, calibration: Path = CALIBRATION) -> None:
    """Static QDQ quantisation of the fp32 variant, with the committed activation ranges."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not calibration.is_file():
        raise FileNotFoundError(f"{calibration} is missing; run tools/prepare_model.py --calibrate")
    quantize_static(fp32, dst, None, calibration_cache_path=str(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)


def max_alpha_difference(original: str, prepared: str) -> float:
    """Run both graphs on one fixed pseudo-random input; return max |alpha difference|."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = (rng.random((1, 3, 1024, 1024), dtype=np.float32) - 0.5).astype(np.float32)
    outs = []
    for path in (original, prepared):
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs.append(sess.run(["output"], {"input": x})[0])
    return float(np.abs(outs[0] - outs[1]).max())


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
    if variant == "fp32":
        summary = prepare_fp32(original, dst)
    elif variant == "int8" and fp32:
        quantize_int8(fp32, dst)
        summary = f"static QDQ int8 from {Path(fp32).name} with {CALIBRATION.name}"
    else:
        raise ValueError(f"cannot prepare variant {variant!r} (int8 needs the fp32 graph); known: fp32, int8")
    diff = max_alpha_difference(original, dst)
    if not diff <= TOLERANCE[variant]:
        raise ValueError(f"the prepared {variant} graph differs from the original by {diff:.2e} in alpha, "
                         f"beyond the tolerance of {TOLERANCE[variant]:g}")
    return f"{variant}: {summary}; max |d alpha| vs original = {diff:.2e} (tolerance {TOLERANCE[variant]:g})"
