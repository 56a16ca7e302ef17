"""The worker's entry points that run while SciPy is still loading (issue 15: the model starts
before the whole pipeline is loaded)."""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphacut.runtime.early_api import model_input, precheck
from alphacut.runtime.worker_api import process
from support import DiscInfer, png_bytes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from deps import BEFORE_INFERENCE  # noqa: E402


def test_early_api_needs_only_the_packages_the_worker_loads_first():
    """Imported with every other third-party package blocked, as in the worker before SciPy."""
    allowed = {"numpy": "numpy", "pillow": "PIL"}
    assert set(BEFORE_INFERENCE) <= set(allowed)
    code = (
        "import sys\n"
        "for name in ('scipy', 'tqdm', 'onnxruntime', 'skimage', 'pymatting'):\n"
        "    sys.modules[name] = None  # import fails\n"
        "import alphacut.runtime.early_api as m\n"
        f"allowed = {sorted(allowed[p] for p in BEFORE_INFERENCE)!r}\n"
        "stdlib = set(sys.stdlib_module_names)\n"
        "third = sorted({n.split('.')[0] for n, mod in sys.modules.items() if mod is not None}\n"
        "               - stdlib - {'__main__', 'alphacut', '_distutils_hack', 'sitecustomize', 'usercustomize'} - set(allowed))\n"
        "print(third)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_model_input_is_the_pipelines_first_input():
    """The worker hands the early inference to the pipeline only if the pipeline asks for this very input."""
    rgb = np.random.default_rng(5).integers(0, 256, (90, 140, 3), dtype=np.uint8)
    data = png_bytes(rgb)
    infer = DiscInfer()
    asyncio.run(process(data, json.dumps({}), infer))
    np.testing.assert_array_equal(model_input(data), infer.calls[0])
    assert model_input(b"\x89PNG\r\n\x1a\n broken") is None  # the pipeline reports why


def test_precheck_says_why_a_file_is_refused():
    assert precheck(png_bytes(np.zeros((4, 4, 3), np.uint8)), 1000) == ""
    with pytest.raises(ValueError, match="PDF"):
        precheck(b"%PDF-1.4", 5000)
