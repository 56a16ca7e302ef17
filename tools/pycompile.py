"""Add precompiled bytecode to a wheel or to Pyodide's standard library zip (run inside Pyodide).

Pyodide 0.27's own wheels and its ``python_stdlib.zip`` hold source only, so every module is
compiled in the page at each start (more than half of Pyodide's start and of importing the
pipeline: BENCHMARKS.md, "Start-up: bytecode"). This adds, beside each module's source, its bytecode as an
unchecked-hash ``.pyc`` (PEP 552: read without looking at the source, so no timestamps are
involved and the same input gives the same bytes). It must run in the interpreter that will
load it (Pyodide's CPython 3.12), which ``tools/pycompile.mjs`` does at build time.

- ``wheel``: unpacked into site-packages, imported by the path-based loader, which looks in
  ``__pycache__/NAME.cpython-312.pyc``;
- ``zip``: imported from the zip itself by zipimport, which looks for ``NAME.pyc`` beside
  ``NAME.py`` and tries it first.
"""
import importlib.util
import marshal  # noqa: F401  (the pyc format, via importlib's own writer below)
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

DATE = (1980, 1, 1, 0, 0, 0)


def _entry(name: str, like: zipfile.ZipInfo | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.external_attr = like.external_attr if like is not None else 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def add_pycs(src: str, dst: str, prefix: str, layout: str) -> int:
    """Write ``src`` with a ``.pyc`` beside each ``.py`` to ``dst``; return how many were added.

    ``prefix`` is the folder the archive's entries live under at run time (for the file names in
    tracebacks); ``layout`` is ``'wheel'`` or ``'zip'`` (see the module docstring).
    """
    added = 0
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as w:
        names = z.namelist()
        record = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
        pycs = []
        for info in z.infolist():
            data = z.read(info)
            if info.filename == record:
                continue  # written last, listing the new files too
            w.writestr(_entry(info.filename, info), data)
            if not info.filename.endswith(".py"):
                continue
            try:
                code = compile(data, f"{prefix}/{info.filename}", "exec", dont_inherit=True)
            except SyntaxError:  # e.g. a template that is never imported
                continue
            pyc = bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            name = (importlib.util.cache_from_source(info.filename) if layout == "wheel"
                    else info.filename[:-3] + ".pyc")
            w.writestr(_entry(name, info), pyc)
            pycs.append(name)
            added += 1
        if record is not None:
            lines = z.read(record).decode().splitlines() + [f"{n},," for n in pycs]
            w.writestr(_entry(record, z.getinfo(record)), "\n".join(lines) + "\n")
    return added
