import pytest

from alphacut.models import available_models, get_model, load_manifest


def test_isnet_manifest_is_complete():
    m = load_manifest("isnet")
    assert m["source"] == {"registry": "npm", "package": "@imgly/background-removal-data", "version": "1.4.5",
                           "integrity": "sha512-iRXZpPd7YirbJ4eOZ3SlvbdJkAc/LxVjzWLMHOezmRrVThPJPdPc+Y2kHEAVFEVvpDIu"
                                        "vBDyOfTTFBSJT2QR5w==",  # package-lock.json's, for the CLI's first run
                           "tarball_size": 136455985, "resource": "/models/medium"}
    assert sum(c["size"] for c in m["chunks"]) == m["assembled"]["size"]
    assert all(len(c["sha256"]) == 64 for c in m["chunks"])
    assert len(m["assembled"]["sha256"]) == 64
    for name, v in m["variants"].items():
        assert len(v["sha256"]) == 64 and v["file"] == f"isnet-{name}-{v['sha256'][:12]}.onnx", name
        assert v["size"] > 0 and v["why"] and v["backends"], name
    assert "MIT" in m["licence"]


def test_every_backend_has_exactly_one_variant():
    backends = [b for v in load_manifest("isnet")["variants"].values() for b in v["backends"]]
    assert sorted(backends) == ["wasm", "webgpu"]


def test_spec_matches_manifest():
    spec = get_model("isnet")
    assert spec.size == (1024, 1024)
    assert spec.mean == (0.5, 0.5, 0.5) and spec.std == (1.0, 1.0, 1.0) and spec.scale == 255.0
    assert (spec.input_name, spec.output_name) == ("input", "output")


def test_unknown_model_is_a_value_error():
    assert available_models() == ["isnet"]
    with pytest.raises(ValueError, match="unknown model 'u2net'"):
        get_model("u2net")
