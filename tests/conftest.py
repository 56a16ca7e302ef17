"""Shared fixtures: small real photos, the prepared model, and fake inference."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def cat_rgb() -> np.ndarray:
    """scikit-image's ``chelsea`` photo, (300, 451, 3) uint8."""
    from skimage import data

    return data.chelsea()


@pytest.fixture(scope="session")
def cat_jpeg(cat_rgb) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(cat_rgb).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The prepared graph that `make build` verified into the cache."""
    from alphacut.runtime.ort_backend import default_model_path

    path = default_model_path()
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make build` first (make test does)")
    return path


@pytest.fixture(scope="session")
def ort_infer(model_path):
    from alphacut.runtime.ort_backend import OrtInfer

    return OrtInfer(model_path)


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last: fast feedback first, and Playwright's sync API keeps an
    event loop running in this thread while a browser is open, which asyncio.run() refuses."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
