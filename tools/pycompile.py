"""Add precompiled bytecode to a wheel or to Pyodide's standard library zip (run inside Pyodide).

Pyodide 0.27's own wheels and its ``python_stdlib.zip`` hold source only, so every module is
compiled in the page at each start (more than half of Pyodide's start and of importing the
pipeline: BENCHMARKS.md, "Start-up: bytecode"). This replaces each module's source by its
bytecode, as an unchecked-hash ``NAME.pyc`` in its place (PEP 552: no timestamps, so the same
input gives the same bytes), where both the path-based importer and zipimport look for a module
without source. Without the source the page downloads less and holds less in Pyodide's file
system; a traceback still names the file and line, without the line's text. It must run in the
interpreter that will load it (Pyodide's CPython 3.12), which ``tools/pycompile.mjs`` does at
build time. A module that does not compile (a template never imported) keeps its source.
"""
import importlib.util
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

DATE = (1980, 1, 1, 0, 0, 0)


def _entry(name: str, like: zipfile.ZipInfo | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.external_attr = like.external_attr if like is not None else 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def add_pycs(src: str, dst: str, prefix: str) -> int:
    """Write ``src`` to ``dst`` with each ``.py`` replaced by its ``.pyc``; return how many were.

    ``prefix`` is the folder the archive's entries live under at run time (for the file names in
    tracebacks). A wheel's RECORD is rewritten to list what the wheel now holds.
    """
    compiled = {}
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as w:
        names = z.namelist()
        record = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
        for info in z.infolist():
            data = z.read(info)
            if info.filename == record:
                continue  # written last, listing what replaced the sources
            if info.filename.endswith(".py"):
                try:
                    code = compile(data, f"{prefix}/{info.filename}", "exec", dont_inherit=True)
                except SyntaxError:  # e.g. a template that is never imported: kept as it is
                    code = None
                if code is not None:
                    name = info.filename + "c"
                    w.writestr(_entry(name, info), bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data),
                                                                            checked=False)))
                    compiled[info.filename] = name
                    continue
            w.writestr(_entry(info.filename, info), data)
        if record is not None:
            lines = []
            for line in z.read(record).decode().splitlines():
                path = line.split(",")[0]
                lines.append(f"{compiled[path]},," if path in compiled else line)
            w.writestr(_entry(record, z.getinfo(record)), "\n".join(lines) + "\n")
    return len(compiled)
