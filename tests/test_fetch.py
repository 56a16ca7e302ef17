"""First-run model fetch (alphacut.fetch) against a local registry: a tiny fake model, served by http.server."""
from __future__ import annotations

import base64
import errno
import functools
import hashlib
import http.server
import io
import json
import socket
import tarfile
import threading

import numpy as np
import pytest

from alphacut import fetch
from alphacut.fetch import ModelError, VerifyError, ensure_model

PACKAGE = "@fake/model-data"


def _tiny_graph() -> bytes:
    """input (1, 3, 1024, 1024) -> Cast fp16 -> Cast fp32 -> mean over channels -> sigmoid -> output."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Cast", ["input"], ["h"], to=TensorProto.FLOAT16),
             helper.make_node("Cast", ["h"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["f"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Sigmoid", ["m"], ["output"])]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 1024, 1024])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 1024, 1024])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo("package/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A fake manifest, its tarball's bytes and its chunks, with the prepared fp32 graph's real sha256."""
    from alphacut.runtime.prepare_graph import prepare

    graph = _tiny_graph()
    half = len(graph) // 2
    chunks = {f"dist/{hashlib.sha256(part).hexdigest()}": part for part in (graph[:half], graph[half:])}
    folder = tmp_path_factory.mktemp("fake")
    (folder / "orig.onnx").write_bytes(graph)
    prepare("fp32", str(folder / "orig.onnx"), str(folder / "fp32.onnx"))
    prepared = (folder / "fp32.onnx").read_bytes()
    sha = hashlib.sha256(prepared).hexdigest()
    tgz = _tarball({"package.json": b"{}", **chunks})
    manifest = {
        "name": "tiny",
        "source": {"registry": "npm", "package": PACKAGE, "version": "1.0.0", "integrity": _integrity(tgz)},
        "chunks": [{"file": f, "sha256": f.split("/")[1], "size": len(d)} for f, d in chunks.items()],
        "assembled": {"sha256": hashlib.sha256(graph).hexdigest(), "size": len(graph)},
        "variants": {"fp32": {"file": f"tiny-fp32-{sha[:12]}.onnx", "sha256": sha, "size": len(prepared)}},
    }
    return {"manifest": manifest, "tgz": tgz, "chunks": chunks}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A local npm registry (a folder on http.server in a thread); ``put(bytes)`` publishes the tarball."""
    root = tmp_path / "registry"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ALPHACUT_REGISTRY", f"http://127.0.0.1:{server.server_port}")

    def put(data: bytes) -> None:
        path = root / PACKAGE / "-" / "model-data-1.0.0.tgz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    yield put
    server.shutdown()
    server.server_close()
    thread.join()


def test_first_run_fetches_verifies_assembles_and_prepares(fake, registry, tmp_path, monkeypatch):
    registry(fake["tgz"])
    seen = []
    path = ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache", progress=lambda *a: seen.append(a))
    assert path == tmp_path / "cache" / "models" / fake["manifest"]["variants"]["fp32"]["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == fake["manifest"]["variants"]["fp32"]["sha256"]
    assert seen and seen[-1][1] == len(fake["tgz"])  # (key, current, total) progress of the download
    assert not list((tmp_path / "cache").rglob("*.part"))
    assert not (tmp_path / "cache" / "npm" / "model-data-1.0.0.tgz").exists()  # the downloaded tarball is not kept
    monkeypatch.setenv("ALPHACUT_REGISTRY", "http://127.0.0.1:9")  # the second run needs no network
    assert ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache", offline=True) == path


def test_a_tampered_tarball_is_refused_and_not_kept(fake, registry, tmp_path):
    data = bytearray(fake["tgz"])
    data[len(data) // 2] ^= 0xFF
    registry(bytes(data))
    with pytest.raises(VerifyError, match=r"does not match the pinned sha512: the file was changed on the way"):
        ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.tgz*"))


def test_a_tampered_chunk_is_refused_even_in_a_tarball_that_matches_its_integrity(fake, registry, tmp_path):
    chunks = dict(fake["chunks"])
    first = next(iter(chunks))
    chunks[first] = b"x" + chunks[first][1:]
    tgz = _tarball(chunks)
    manifest = json.loads(json.dumps(fake["manifest"]))
    manifest["source"]["integrity"] = _integrity(tgz)
    registry(tgz)
    with pytest.raises(VerifyError, match=rf"model chunk {first} of {PACKAGE}@1.0.0 does not match the manifest"):
        ensure_model(manifest, "fp32", cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "models").exists() or not list((tmp_path / "cache" / "models").iterdir())


def test_offline_says_which_file_to_put_where(fake, tmp_path):
    with pytest.raises(ModelError) as info:
        ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache", offline=True)
    msg = str(info.value)
    assert "--offline forbids downloading" in msg
    assert str(tmp_path / "cache" / "models" / fake["manifest"]["variants"]["fp32"]["file"]) in msg
    assert str(tmp_path / "cache" / "npm" / "model-data-1.0.0.tgz") in msg
    assert fake["manifest"]["source"]["integrity"] in msg and "/@fake/model-data/-/model-data-1.0.0.tgz" in msg


def test_a_tarball_put_in_place_by_hand_is_used_offline_and_kept(fake, tmp_path):
    tgz = tmp_path / "cache" / "npm" / "model-data-1.0.0.tgz"
    tgz.parent.mkdir(parents=True)
    tgz.write_bytes(fake["tgz"])
    assert ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache", offline=True).is_file()
    assert tgz.is_file()


def test_no_network_is_named(fake, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ALPHACUT_REGISTRY", f"http://127.0.0.1:{port}")
    with pytest.raises(ModelError, match=r"cannot download the model from http://127\.0\.0\.1:\d+/@fake.*Connection "
                                         r"refused.*Check the network connection"):
        ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache")


def test_a_missing_tarball_names_the_http_status(fake, registry, tmp_path):
    with pytest.raises(ModelError, match=r"answered 404"):
        ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache")


def test_a_full_disk_is_named(fake, registry, tmp_path, monkeypatch):
    registry(fake["tgz"])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch, "write_atomic", full)
    with pytest.raises(ModelError, match=r"the disk is full: the model cache .* needs about \d+ MB free.*"
                                         r"ALPHACUT_CACHE"):
        ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache")


def test_an_unknown_variant_is_a_value_error(fake, tmp_path):
    with pytest.raises(ValueError, match="has no variant 'fp8'"):
        ensure_model(fake["manifest"], "fp8", cache=tmp_path / "cache")


def test_the_prepared_graph_runs(fake, registry, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    registry(fake["tgz"])
    path = ensure_model(fake["manifest"], "fp32", cache=tmp_path / "cache")
    x = np.zeros((1, 3, 1024, 1024), np.float32)
    (out,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["output"], {"input": x})
    assert out.shape == (1, 1, 1024, 1024) and np.allclose(out, 0.5)
