"""Prepare the IS-Net graphs that the app ships, from the verified original.

Variant ``fp32`` (for WebGPU, and for CPython): the published graph carries fp16 weights with
Cast-to-fp16 nodes, and MaxPools with ``ceil_mode=1``. This step

1. converts every fp16 initializer and Constant to fp32, and retargets the Casts to fp32
   (so WASM runs fp32 kernels, and SwiftShader's WebGPU, which has no f16, can run it);
2. keeps only the ``output`` head (the side heads are training aids) and sorts the nodes
   topologically, which the published file does not;
3. sets ``ceil_mode=0`` on every MaxPool: ORT-web's WebGPU MaxPool lacks ceil_mode, and at
   the fixed 1024x1024 input every pooled size is even, so the result is identical;
4. folds constants for the fixed input with onnxruntime's basic offline optimisation (the
   level whose output is portable across execution providers): the Shape/Slice/Concat/Cast
   chains that compute each Resize's size become constants, 652 nodes become 356;
5. checks the result against the original with onnxruntime on a fixed input, and fails if
   the largest absolute difference on the alpha output exceeds ``TOLERANCE["fp32"]``.

Variant ``int8`` (for WASM), from the fp32 variant: static QDQ quantisation with onnxruntime's
quantiser, per-channel int8 weights and uint8 activations. The activation ranges are not
measured at build time (their floats would depend on the CPU), but read from the committed
calibration file ``tools/calibration/isnet-int8.json``, so the graph's bytes are
reproducible. ``--calibrate`` regenerates that file: MinMax ranges over five of
scikit-image's sample photos (astronaut, coffee, chelsea, rocket, motorcycle_left), none of
them in the evaluation set. The check against the original uses ``TOLERANCE["int8"]``.

Usage: python tools/prepare_model.py fp32 ORIGINAL.onnx OUT.onnx
       python tools/prepare_model.py int8 ORIGINAL.onnx OUT.onnx FP32.onnx
       python tools/prepare_model.py --calibrate FP32.onnx CALIBRATION.json
"""
from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "tools" / "calibration" / "isnet-int8.json"
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


def calibration_photos() -> list[np.ndarray]:
    """Five of scikit-image's sample photos (not in the evaluation set), as model inputs."""
    from PIL import Image
    from skimage import data

    folder = Path(data.__file__).parent
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              np.asarray(Image.open(folder / "motorcycle_left.png").convert("RGB"))]
    out = []
    for rgb in photos:
        small = np.asarray(Image.fromarray(rgb).resize((1024, 1024), Image.BILINEAR), np.float32)
        out.append(np.ascontiguousarray((small / 255.0 - 0.5).transpose(2, 0, 1)[None]))
    return out


def calibrate(fp32: str, out: Path) -> None:
    """Measure MinMax activation ranges of the fp32 variant on the calibration photos; write them."""
    import tempfile

    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator
    from onnxruntime.quantization.calibrate import save_tensors_data

    class Photos(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": x} for x in calibration_photos()])

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        # Ranges are folded in every 2 photos (memory); 5 is odd, so the last batch is never
        # empty (onnxruntime raises "No data is collected" when it is).
        calibrator = create_calibrator(Path(fp32), [], augmented_model_path=str(Path(tmp) / "augmented.onnx"),
                                       calibrate_method=CalibrationMethod.MinMax,
                                       extra_options={"max_intermediate_outputs": 2})
        calibrator.collect_data(Photos())
        save_tensors_data(calibrator.compute_data(), out)


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


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--calibrate":
        calibrate(argv[1], Path(argv[2]))
        print(f"prepare_model: wrote activation ranges to {argv[2]}")
        return 0
    if not ((len(argv) == 3 and argv[0] == "fp32") or (len(argv) == 4 and argv[0] == "int8")):
        print(__doc__, file=sys.stderr)
        return 2
    variant, src, dst = argv[:3]
    if variant == "fp32":
        summary = prepare_fp32(src, dst)
    else:
        quantize_int8(argv[3], dst)
        summary = f"static QDQ int8 from {Path(argv[3]).name} with {CALIBRATION.name}"
    diff = max_alpha_difference(src, dst)
    print(f"prepare_model: {variant}: {summary}; max |d alpha| vs original = {diff:.2e} "
          f"(tolerance {TOLERANCE[variant]:g})")
    if not diff <= TOLERANCE[variant]:
        print(f"prepare_model: the {variant} graph differs from the original beyond tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
