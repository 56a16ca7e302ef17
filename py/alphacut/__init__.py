"""alphacut: background removal with clean edges, in the browser (Pyodide) and in CPython.

The package is a set of pure functions on numpy arrays. I/O lives at the edges
(:mod:`alphacut.io.decode`, :mod:`alphacut.io.encode`), and :mod:`alphacut.pipeline`
composes the steps around an injected async ``infer`` callable.

The names users call are here too, imported when first used (``import alphacut`` stays light):

>>> import alphacut
>>> alphacut.Options().method, alphacut.decode.__module__
('auto', 'alphacut.io.decode')
"""
__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "cutout": "alphacut.pipeline", "find_matte": "alphacut.pipeline", "Options": "alphacut.pipeline",
    "decode": "alphacut.io.decode", "DecodeError": "alphacut.io.decode", "encode_png": "alphacut.io.encode",
    "merge_edit": "alphacut.editmerge", "MergeOptions": "alphacut.editmerge", "assess": "alphacut.quality",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'alphacut' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)
