"""Prepare the IS-Net graph that the app ships, from the verified original.

The published graph carries fp16 weights with Cast-to-fp16 nodes, and MaxPools with
``ceil_mode=1``. This step

1. converts every fp16 initializer and Constant to fp32, and retargets the Casts to fp32
   (so WASM runs fp32 kernels, and SwiftShader's WebGPU, which has no f16, can run it);
2. keeps only the ``output`` head (the side heads are training aids) and sorts the nodes
   topologically, which the published file does not;
3. sets ``ceil_mode=0`` on every MaxPool: ORT-web's WebGPU MaxPool lacks ceil_mode, and at
   the fixed 1024x1024 input every pooled size is even, so the result is identical;
4. checks the prepared graph against the original with onnxruntime on a fixed input, and
   fails if the largest absolute difference on the alpha output exceeds ``TOLERANCE``.

Usage: python tools/prepare_model.py ORIGINAL.onnx PREPARED.onnx
"""
from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

TOLERANCE = 2e-3  # max |alpha difference| allowed against the original (fp16 rounding)


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


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = argv
    model = onnx.load(src)
    n_fp = to_fp32(model)
    n_pool = floor_maxpools(model)
    n_dropped = keep_output_only(model, "output")
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    diff = max_alpha_difference(src, dst)
    print(f"prepare_model: {n_fp} fp16 items -> fp32, {n_pool} MaxPools ceil_mode=0, "
          f"{n_dropped} side-head nodes dropped, "
          f"max |d alpha| vs original = {diff:.2e} (tolerance {TOLERANCE:g})")
    if not diff <= TOLERANCE:
        print("prepare_model: prepared graph differs from the original beyond tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
