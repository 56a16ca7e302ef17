"""Write the self-contained static site to build/site (what ``make build`` runs after deps).

Layout of build/site:

- the app shell from web/ (HTML, CSS, JS modules, service worker, web manifest, icons);
- vendor/pyodide/: Pyodide 0.27.7's core files and the verified wheels of numpy and Pillow,
  with SciPy cut down to the subpackages the pipeline imports (:func:`scipy_subset`: no OpenBLAS);
  the Python wheels and the standard library as bytecode (:func:`pycompile`), and
  pyodide-lock.json naming those wheels;
- vendor/ort/: ONNX Runtime Web 1.30.0, the plain WASM and the WebGPU builds;
- lib/client-zip/: client-zip 2.5.1 (MIT), which "Download all" streams its ZIP with: part of the
  app shell (the page imports it at start, so the service worker precaches it for offline use);
- wheels/<sha256[:16]>/: the alphacut wheel as CPython 3.12 bytecode (so tagged cp312-none-any),
  in a folder named by its content;
- models/: the model manifest and the prepared graph variants (hard-linked from the cache;
  the worker downloads only the one its backend uses);
- build-info.json: version, build id, and every file with its size and sha256 (the page's
  "about" panel reads it); client/build.js (the page's build id) and sw.js (the id and the sha256
  of every file it may cache): all three written by :func:`seal`;
- shared/options.js: the defaults, ranges and choices of the pipeline's and the edit merge's
  options, from the Python dataclasses (:func:`options_module`): the page keeps no copy.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deps import CACHE, NODE, ROOT, pyodide_lock, pyodide_packages, sha256_file, verify_file  # noqa: E402

SITE = ROOT / "build" / "site"
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
ORT_FILES = ("ort.wasm.min.mjs", "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
             "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
MODEL = "isnet"
# SciPy's subpackages that the pipeline imports in Pyodide: scipy.ndimage and scipy.fft, and the
# helpers in scipy._lib they import. Traced in Pyodide under Node with every pipeline path run
# (cut-out, colour key, edit merge, export). Pyodide 0.27 instantiates every shared library of a
# package when it loads it, so every library kept costs start-up time and tab memory whether or
# not a photo needs it (BENCHMARKS.md, "Start-up and memory: SciPy without special, linalg and sparse").
# Importing anything else fails with a plain ModuleNotFoundError; tests/e2e runs every pipeline
# path in Pyodide.
SCIPY_KEEP = ("scipy/_lib/", "scipy/fft/", "scipy/ndimage/")
# Inside those, never imported by the pipeline: tests and their helper libraries.
SCIPY_DROP = ("/tests/", "scipy/_lib/_test_", "scipy/ndimage/_ctest", "scipy/ndimage/_cytest")
# SciPy 1.14.1 imports scipy.special at the top of two modules the pipeline needs, for functions it
# never calls: ndimage's `rotate` (cosdg, sindg) and fft's `fht` (loggamma, poch). scipy.special
# in turn imports linalg (OpenBLAS) and sparse: about 14 MB of shared libraries and a 6 MB OpenBLAS.
# The subset makes those two imports lazy (the functions import special when called, and fail
# with ModuleNotFoundError in Pyodide, where it is left out); nothing else in SciPy changes.
# And its vendored array_api_compat makes its NumPy namespace with `from numpy import *`, which in
# NumPy 2.0 imports every lazily loaded submodule named in numpy.__all__: f2py, testing, ma,
# polynomial and ctypeslib are 48 modules and 100-240 ms of start-up in wasm (BENCHMARKS.md,
# "Start-up: NumPy's unused submodules left unimported"). The patch binds the same names, those
# five on first use.
# Each patch replaces one exact line of the pinned release, or the build fails.
SCIPY_PATCHES = {
    "scipy/ndimage/_interpolation.py": (
        "from scipy import special\n",
        "class _LazySpecial:  # alphacut's build: scipy.special on first use (only `rotate` needs it)\n"
        "    def __getattr__(self, name):\n"
        "        import scipy.special\n"
        "        return getattr(scipy.special, name)\n"
        "\n"
        "\n"
        "special = _LazySpecial()\n",
    ),
    "scipy/fft/_fftlog_backend.py": (
        "from ..special import loggamma, poch\n",
        "def loggamma(*args, **kwargs):  # alphacut's build: scipy.special on first use (only fht needs it)\n"
        "    from ..special import loggamma\n"
        "    return loggamma(*args, **kwargs)\n"
        "\n"
        "\n"
        "def poch(*args, **kwargs):\n"
        "    from ..special import poch\n"
        "    return poch(*args, **kwargs)\n",
    ),
    "scipy/_lib/array_api_compat/numpy/__init__.py": (
        "from numpy import * # noqa: F403\n",
        "import numpy as _np  # alphacut's build: the names `from numpy import *` binds, without importing\n"
        "_LAZY = {\"f2py\", \"testing\", \"ma\", \"polynomial\", \"ctypeslib\"}  # these until first use\n"
        "globals().update({_k: getattr(_np, _k) for _k in _np.__all__ if _k not in _LAZY})\n"
        "\n"
        "\n"
        "def __getattr__(name):\n"
        "    if name in _LAZY:\n"
        "        return getattr(_np, name)\n"
        "    raise AttributeError(f\"module {__name__!r} has no attribute {name!r}\")\n",
    ),
}
# Pyodide packages SciPy depends on in pyodide-lock.json that the subset does not need.
SCIPY_UNNEEDED = ("openblas",)
VENDOR_TAG = "0alphacut"  # a wheel build tag: a wheel the build changes has its own file name and sha256


def place(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (copy across file systems)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def build_wheel(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("alphacut-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True)
    (wheel,) = out.glob("alphacut-*-py3-none-any.whl")
    return wheel


def scipy_subset(src: Path, out_dir: Path) -> Path:
    """Write SciPy's wheel ``src`` cut down to :data:`SCIPY_KEEP`, with :data:`SCIPY_PATCHES`
    applied, into ``out_dir``; return it.

    Top-level modules and the dist-info are kept; RECORD lists only what is kept, with each patched
    file's new hash and size. The zip is written with fixed timestamps, so the same input gives the
    same bytes (and build id).
    """
    dst = out_dir / _tagged(src.name)

    def keep(path: str) -> bool:
        if path.endswith("/") or any(d in path for d in SCIPY_DROP):
            return False
        top_level = path.startswith("scipy/") and path.count("/") == 1 and path.endswith(".py")
        return top_level or ".dist-info/" in path or path.startswith(SCIPY_KEEP)

    with zipfile.ZipFile(src) as z:
        kept = [i for i in z.infolist() if keep(i.filename)]
        (record,) = (i for i in kept if i.filename.endswith(".dist-info/RECORD"))
        names = {i.filename for i in kept}
        patched = {path: _patch(z.read(path).decode(), path, *change).encode()
                   for path, change in SCIPY_PATCHES.items()}
        lines = [_record_line(ln.split(",")[0], patched[ln.split(",")[0]]) if ln.split(",")[0] in patched else ln
                 for ln in z.read(record).decode().splitlines() if ln.split(",")[0] in names]
        out_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as w:
            for info in kept:
                data = patched[info.filename] if info.filename in patched else z.read(info)
                if info is record:
                    data = ("\n".join(lines) + "\n").encode()
                entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = info.external_attr
                w.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return dst


def _patch(text: str, path: str, old: str, new: str) -> str:
    """``text`` with its one line ``old`` replaced by ``new``; an error unless ``old`` occurs once."""
    if text.count(old) != 1:
        raise RuntimeError(f"{path}: expected {old!r} once, found it {text.count(old)} times (a new SciPy?)")
    return text.replace(old, new)


def _record_line(path: str, data: bytes) -> str:
    """A wheel RECORD line for ``data`` at ``path`` (urlsafe base64 sha256, no padding; size)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def retagged(src: Path, out_dir: Path) -> Path:
    """Copy the wheel ``src`` into ``out_dir`` under its name with :data:`VENDOR_TAG` (a copy the
    build will change, never a link to the verified original)."""
    dst = out_dir / _tagged(src.name)
    dst.unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _tagged(wheel_name: str) -> str:
    """A wheel's file name with :data:`VENDOR_TAG` as its build tag."""
    name, version, *rest = wheel_name.split("-")
    return "-".join([name, version, VENDOR_TAG, *rest[-3:]])


def write_lock(lock_src: Path, lock_dst: Path, wheels: dict[str, Path]) -> None:
    """Copy pyodide-lock.json with each package of ``wheels`` pointing at its wheel (name and sha256),
    and SciPy depending on none of :data:`SCIPY_UNNEEDED` (Pyodide would fetch them with it)."""
    lock = json.loads(lock_src.read_text())
    for package, wheel in wheels.items():
        lock["packages"][package].update(file_name=wheel.name, sha256=sha256_file(wheel))
    scipy = lock["packages"]["scipy"]
    scipy["depends"] = [d for d in scipy.get("depends", []) if d not in SCIPY_UNNEEDED]
    _write(lock_dst, json.dumps(lock, separators=(",", ":")))


def pycompile(archives: list[tuple[str, Path]]) -> None:
    """Replace every module's source in each archive by CPython 3.12 bytecode, in place
    (``tools/pycompile.py``, run in Pyodide under Node). ``archives`` are (``'wheel'`` or
    ``'zip'``, path) pairs: unpacked into site-packages, or imported from the zip.

    Pyodide 0.27 ships source only, so the page compiled every module it imported at each start
    (what it saves, and costs in download: BENCHMARKS.md, "Start-up: bytecode").
    """
    subprocess.run(["node", str(ROOT / "tools" / "pycompile.mjs"), *(f"{kind}:{path}" for kind, path in archives)],
                   check=True, stdout=subprocess.DEVNULL)


def make_icons(folder: Path) -> None:
    """Draw the app icon (a cut-out disc on a checkerboard) as PNGs with Pillow."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        img = Image.new("RGBA", (size, size), (40, 44, 52, 255))
        d = ImageDraw.Draw(img)
        cell = size // 8
        for r in range(8):
            for c in range(8):
                if (r + c) % 2:
                    d.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], fill=(70, 76, 88, 255))
        m = size // 6
        d.ellipse([m, m, size - m, size - m], fill=(255, 170, 40, 255))
        img.save(folder / f"icon-{size}.png", optimize=True)


# Written by seal(), so not part of what the build id is computed from.
SEALED = ("build-info.json", "sw.js", "client/build.js")


def seal(site: Path, sw_source: Path = ROOT / "web" / "sw.js") -> dict:
    """Name the build in ``site`` by its content and write what depends on that name.

    The build id is a hash of every file but those in ``SEALED``. Then ``client/build.js`` (the
    page's own build id, which it sends with the worker's URL), ``sw.js`` (from ``sw_source``,
    with the id and the sha256 of every file it may cache) and ``build-info.json`` (every file
    with its size and sha256) are written. Returns build-info's ``files``.
    """
    files = {}
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if path.is_file() and rel not in SEALED:
            graph = path.suffix == ".onnx"  # verified by sha256 against the manifest already
            digest = _graph_sha256(site, rel) if graph else sha256_file(path)
            files[rel] = {"size": path.stat().st_size, "sha256": digest}
    build_id = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    _write(site / "client" / "build.js",
           f"// Written by tools/build_site.py: this page's build.\nexport const BUILD = '{build_id}';\n")
    for rel in ("client/build.js",):
        files[rel] = {"size": (site / rel).stat().st_size, "sha256": sha256_file(site / rel)}
    # The service worker checks every file it caches against these hashes (not the model
    # graphs, which the worker verifies in IndexedDB, nor itself).
    served = {rel: f["sha256"] for rel, f in files.items() if not rel.endswith(".onnx")}
    _write(site / "sw.js", sw_source.read_text().replace("__BUILD_ID__", build_id)
           .replace("__FILES__", json.dumps(served, sort_keys=True)))
    files["sw.js"] = {"size": (site / "sw.js").stat().st_size, "sha256": sha256_file(site / "sw.js")}
    (wheel,) = (p.relative_to(site).as_posix() for p in site.glob("wheels/*/alphacut-*.whl"))
    info = {
        "version": json.loads((ROOT / "package.json").read_text())["version"],
        "build": build_id,
        "wheel": wheel,
        "model": {"name": MODEL, "manifest": f"models/{MODEL}.json"},
        "pyodide_packages": pyodide_packages(pyodide_lock())[0],
        "files": dict(sorted(files.items())),
    }
    _write(site / "build-info.json", json.dumps(info, indent=1) + "\n")
    return files


def options_module() -> str:
    """shared/options.js: ``alphacut.options.describe`` of the pipeline's and the edit merge's options.

    ``PIPELINE`` and ``MERGE`` map each option to its type, default, and range (``min``, ``max``)
    or ``choices``, so that the page's sliders, menus and defaults follow the Python dataclasses.
    """
    from alphacut.editmerge import MergeOptions
    from alphacut.options import describe
    from alphacut.pipeline import Options

    lines = ["// Written by tools/build_site.py from alphacut.options.describe: the Python option dataclasses,",
             "// alphacut.pipeline.Options (PIPELINE) and alphacut.editmerge.MergeOptions (MERGE)."]
    for name, cls in (("PIPELINE", Options), ("MERGE", MergeOptions)):
        spec = json.dumps(describe(cls), indent=1, sort_keys=True, allow_nan=False)
        lines.append(f"export const {name} = Object.freeze({spec});")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    """Write a new file at ``path``: a hard link there (site files are linked) is replaced, not written through."""
    path.unlink(missing_ok=True)
    path.write_text(text)


def _graph_sha256(site: Path, rel: str) -> str:
    """A prepared graph's sha256, from the model manifest (it was verified when placed)."""
    manifest = json.loads((site / "models" / f"{MODEL}.json").read_text())
    by_file = {f"models/{v['file']}": v["sha256"] for v in manifest["variants"].values()}
    return by_file[rel]


def main() -> int:
    if SITE.exists():
        shutil.rmtree(SITE)
    shutil.copytree(ROOT / "web", SITE)
    _write(SITE / "shared" / "options.js", options_module())
    make_icons(SITE / "icons")
    lock = pyodide_lock()
    pyodide_dir = SITE / "vendor" / "pyodide"
    for name in PYODIDE_CORE:
        if name == "python_stdlib.zip":  # bytecode is added below: a copy, not a link
            shutil.copyfile(NODE / "pyodide" / name, pyodide_dir / name)
        elif name != "pyodide-lock.json":
            place(NODE / "pyodide" / name, pyodide_dir / name)
    wheels = {}  # the Python packages, as the build changes them
    for pkg in (p for p in pyodide_packages(lock)[1] if p not in SCIPY_UNNEEDED):
        file_name = lock[pkg]["file_name"]
        src = verify_file(CACHE / "pyodide" / file_name, lock[pkg]["sha256"], file_name)
        if pkg == "scipy":
            wheels[pkg] = scipy_subset(src, pyodide_dir)
        else:
            wheels[pkg] = retagged(src, pyodide_dir)
    for name in ORT_FILES:
        place(NODE / "onnxruntime-web" / "dist" / name, SITE / "vendor" / "ort" / name)
    for name in ("index.js", "LICENSE.txt"):
        place(NODE / "client-zip" / name, SITE / "lib" / "client-zip" / name)
    wheel = build_wheel(ROOT / "build" / "wheel")
    pycompile([("zip", pyodide_dir / "python_stdlib.zip"), *(("wheel", w) for w in wheels.values()), ("wheel", wheel)])
    wheel = wheel.rename(wheel.with_name(wheel.name.replace("-py3-none-", "-cp312-none-")))
    write_lock(NODE / "pyodide" / "pyodide-lock.json", pyodide_dir / "pyodide-lock.json", wheels)
    # The wheel's folder is named by its content: a new wheel has a new URL, which no HTTP cache holds.
    place(wheel, SITE / "wheels" / sha256_file(wheel)[:16] / wheel.name)
    manifest = json.loads((ROOT / "models" / f"{MODEL}.json").read_text())
    for name, variant in manifest["variants"].items():
        src = verify_file(CACHE / "models" / variant["file"], variant["sha256"], f"prepared model {name}")
        place(src, SITE / "models" / variant["file"])
    shutil.copyfile(ROOT / "models" / f"{MODEL}.json", SITE / "models" / f"{MODEL}.json")

    files = seal(SITE)
    total = sum(f["size"] for f in files.values())
    build_id = json.loads((SITE / "build-info.json").read_text())["build"]
    print(f"build: {len(files)} files, {total / 1e6:.1f} MB in {SITE} (build {build_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
