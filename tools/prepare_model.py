"""Prepare the IS-Net graphs that the app ships, from the verified original (command line).

The steps live in the package, ``alphacut.runtime.prepare_graph`` (the CLI's first run prepares the
same graph); this tool adds ``--calibrate``, which needs scikit-image's sample photos.

Variant ``fp32`` (for WebGPU and CPython) converts fp16 to fp32, keeps the ``output`` head,
sets ``ceil_mode=0`` on the MaxPools and folds constants; ``int8`` (for WASM) quantises the
fp32 graph with the committed activation ranges, ``py/alphacut/runtime/calibration/isnet-int8.json``.
Both are checked against the original (the package module's docstring has the details).
``--calibrate`` regenerates the ranges: MinMax over five of scikit-image's sample photos
(astronaut, coffee, chelsea, rocket, motorcycle_left), none of them in the evaluation set.

Usage: python tools/prepare_model.py fp32 ORIGINAL.onnx OUT.onnx
       python tools/prepare_model.py int8 ORIGINAL.onnx OUT.onnx FP32.onnx
       python tools/prepare_model.py --calibrate FP32.onnx CALIBRATION.json
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "py"))

from alphacut.runtime.prepare_graph import prepare  # noqa: E402


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


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--calibrate":
        calibrate(argv[1], Path(argv[2]))
        print(f"prepare_model: wrote activation ranges to {argv[2]}")
        return 0
    if not ((len(argv) == 3 and argv[0] == "fp32") or (len(argv) == 4 and argv[0] == "int8")):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        summary = prepare(argv[0], argv[1], argv[2], *argv[3:])
    except ValueError as e:
        print(f"prepare_model: {e}", file=sys.stderr)
        return 1
    print(f"prepare_model: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
