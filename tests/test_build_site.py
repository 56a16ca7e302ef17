"""The build's SciPy subset (tools/build_site.py): what it keeps, that it is reproducible, and the
lock file that names it. That Pyodide runs every pipeline path on it is tested in tests/e2e."""
from __future__ import annotations

import hashlib
import importlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
from deps import CACHE, NODE, pyodide_lock  # noqa: E402


@pytest.fixture(scope="module")
def scipy_wheel() -> Path:
    entry = pyodide_lock()["scipy"]
    path = CACHE / "pyodide" / entry["file_name"]
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make deps`")
    return path


def test_the_subset_keeps_what_the_pipeline_imports_and_drops_the_rest(scipy_wheel, tmp_path):
    out = build_site.scipy_subset(scipy_wheel, tmp_path)
    assert out.name == "scipy-1.14.1-0alphacut-cp312-cp312-pyodide_2024_0_wasm32.whl"
    names = zipfile.ZipFile(out).namelist()
    for needed in ("scipy/__init__.py", "scipy/ndimage/_filters.py", "scipy/fft/_basic.py",
                   "scipy/_lib/_util.py", "scipy-1.14.1.dist-info/METADATA"):
        assert needed in names, needed
    assert any(n.startswith("scipy/ndimage/_nd_image") and n.endswith(".so") for n in names)
    for gone in ("scipy/optimize/", "scipy/stats/", "scipy/spatial/", "scipy/ndimage/tests/",
                 "scipy/special/", "scipy/linalg/", "scipy/sparse/"):
        assert not any(n.startswith(gone) for n in names), gone
    assert out.stat().st_size < scipy_wheel.stat().st_size / 10
    record = zipfile.ZipFile(out).read("scipy-1.14.1.dist-info/RECORD").decode().splitlines()
    assert {line.split(",")[0] for line in record} == set(names)


def test_the_subset_imports_scipy_special_only_where_it_is_called(scipy_wheel, tmp_path):
    import ast
    import base64

    out = zipfile.ZipFile(build_site.scipy_subset(scipy_wheel, tmp_path))
    record = {line.split(",")[0]: line.split(",")[1:] for line in out.read("scipy-1.14.1.dist-info/RECORD").decode().splitlines()}
    for path in build_site.SCIPY_PATCHES:
        data = out.read(path)
        tree = ast.parse(data)
        # No module-level import of scipy.special is left, and the file still parses.
        top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert not any("special" in (getattr(node, "module", None) or "") or
                       any("special" in a.name for a in node.names) for node in top), path
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert record[path] == [f"sha256={digest}", str(len(data))]
    # Every other kept file is byte for byte SciPy's.
    original = zipfile.ZipFile(scipy_wheel)
    for name in out.namelist():
        if name not in build_site.SCIPY_PATCHES and not name.endswith("RECORD"):
            assert out.read(name) == original.read(name), name


def test_the_numpy_namespace_patch_binds_what_the_star_import_did(tmp_path):
    """array_api_compat's NumPy namespace, patched: the same objects for every name of numpy.__all__,
    without importing f2py, testing, ma, polynomial or ctypeslib until one is asked for."""
    import subprocess

    old, new = build_site.SCIPY_PATCHES["scipy/_lib/array_api_compat/numpy/__init__.py"]
    (tmp_path / "patched.py").write_text(new)
    script = """
import sys, types
import numpy as np
heavy = ["numpy.f2py", "numpy.testing", "numpy.ma", "numpy.polynomial", "numpy.ctypeslib"]
before = {m for m in heavy if m in sys.modules}
mod = types.ModuleType("patched")
exec(open(sys.argv[1]).read(), mod.__dict__)
imported = sorted(m for m in heavy if m in sys.modules and m not in before)
star = {}
exec("from numpy import *", star)
same = all(getattr(mod, k) is star[k] for k in np.__all__ if k in star)
print(imported, same, mod.testing is np.testing, sorted(set(np.__all__) - set(star)))
try:
    mod.no_such_name
except AttributeError as e:
    print("AttributeError", e)
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "patched.py")], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] == "[] True True []"
    assert out[1] == "AttributeError module 'patched' has no attribute 'no_such_name'"


def test_a_patch_that_no_longer_matches_fails_the_build():
    with pytest.raises(RuntimeError, match=r"^x\.py: expected .* once, found it 0 times"):
        build_site._patch("import numpy\n", "x.py", "from scipy import special\n", "")


def test_the_subset_is_reproducible(scipy_wheel, tmp_path):
    a = build_site.scipy_subset(scipy_wheel, tmp_path / "a")
    b = build_site.scipy_subset(scipy_wheel, tmp_path / "b")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_the_lock_file_names_the_subset_with_its_sha256(scipy_wheel, tmp_path):
    wheel = build_site.scipy_subset(scipy_wheel, tmp_path)
    build_site.write_lock(NODE / "pyodide" / "pyodide-lock.json", tmp_path / "lock.json", {"scipy": wheel})
    lock = json.loads((tmp_path / "lock.json").read_text())["packages"]
    assert lock["scipy"]["file_name"] == wheel.name
    assert lock["scipy"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert lock["numpy"] == pyodide_lock()["numpy"]
    # The subset needs no OpenBLAS, so Pyodide must not fetch it with SciPy.
    assert "openblas" in pyodide_lock()["scipy"]["depends"]
    assert lock["scipy"]["depends"] == [d for d in pyodide_lock()["scipy"]["depends"] if d != "openblas"]


def _exported(module: str, name: str) -> dict:
    head = f"export const {name} = Object.freeze("
    start = module.index(head) + len(head)
    return json.JSONDecoder().raw_decode(module[start:])[0]


def test_the_page_gets_its_option_defaults_ranges_and_names_from_the_python_dataclasses():
    from alphacut.editmerge import MergeOptions
    from alphacut.options import describe
    from alphacut.pipeline import Options

    module = build_site.options_module()
    pipeline, merge = _exported(module, "PIPELINE"), _exported(module, "MERGE")
    assert pipeline == describe(Options) and merge == describe(MergeOptions)
    assert pipeline["feather"] == {"type": "number", "min": 0.0, "max": 200.0, "default": 0.0}
    assert pipeline["method"] == {"type": "choice", "choices": ["auto", "model", "colorkey"], "default": "auto"}
    # The page keeps no copy: the cut-out's sliders carry no range or default in the HTML, and
    # the job's settings come from the module.
    html = (ROOT / "web" / "index.html").read_text()
    for control in ("feather", "shift-edge", "decontaminate"):
        tag = html[html.index(f'id="{control}"') - 30 : html.index(f'id="{control}"') + 60]
        assert not any(f"{attr}=" in tag for attr in (" min", " max", " value")), tag
    job = (ROOT / "web" / "client" / "job.js").read_text()
    assert "PIPELINE[key].default" in job and "feather: 0" not in job


def test_dependencies_are_declared_once_in_pyproject():
    import re

    from deps import CLI_ONLY, pyodide_packages, runtime_dependencies

    assert runtime_dependencies() == ["numpy", "pillow", "scipy", "tqdm"]
    wanted, closure = pyodide_packages(pyodide_lock())
    assert wanted == [name for name in runtime_dependencies() if name not in CLI_ONLY] == ["numpy", "pillow", "scipy"]
    assert closure == wanted + ["openblas"]
    # requirements-dev.in is the dev lock's input: it pins a version of each, it adds none.
    pinned = {re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower()
              for line in (ROOT / "requirements-dev.in").read_text().splitlines() if line and not line.startswith("#")}
    assert set(runtime_dependencies()) <= pinned


@pytest.mark.parametrize("layout", ["wheel", "zip"])
def test_sources_are_replaced_by_bytecode_that_imports(layout, tmp_path, monkeypatch):
    """tools/pycompile.py (the build runs it in Pyodide; here in CPython, for its own version):
    each module's source replaced by its pyc, which imports from an unpacked wheel and from a zip
    on sys.path; RECORD lists what the archive holds; a module that does not compile keeps its
    source; the same bytes twice."""
    import pycompile  # tools/ is on sys.path (above)

    src = tmp_path / "src.zip"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("pkg/__init__.py", "")
        z.writestr("pkg/mod.py", "VALUE = 1\n")
        z.writestr("pkg/broken.py", "def (:\n")  # never imported
        z.writestr("pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\npkg/mod.py,,\npkg/broken.py,,\n")
    outs = [tmp_path / f"out{i}.zip" for i in (0, 1)]
    for out in outs:
        assert pycompile.add_pycs(str(src), str(out), str(tmp_path / "site")) == 2
    assert outs[0].read_bytes() == outs[1].read_bytes()
    names = zipfile.ZipFile(outs[0]).namelist()
    assert sorted(names) == ["pkg-1.0.dist-info/RECORD", "pkg/__init__.pyc", "pkg/broken.py", "pkg/mod.pyc"]
    record = zipfile.ZipFile(outs[0]).read("pkg-1.0.dist-info/RECORD").decode().split()
    assert record == ["pkg/__init__.pyc,,", "pkg/mod.pyc,,", "pkg/broken.py,,"]
    if layout == "wheel":
        zipfile.ZipFile(outs[0]).extractall(tmp_path / "site")
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
    else:
        monkeypatch.syspath_prepend(str(outs[0]))
    for name in ("pkg", "pkg.mod"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.invalidate_caches()
    mod = importlib.import_module("pkg.mod")
    assert mod.VALUE == 1 and mod.__file__.endswith("mod.pyc")
