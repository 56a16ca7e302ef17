"""alphacut: background removal with clean edges, in the browser (Pyodide) and in CPython.

The package is a set of pure functions on numpy arrays. I/O lives at the edges
(:mod:`alphacut.io.decode`, :mod:`alphacut.io.encode`), and :mod:`alphacut.pipeline`
composes the steps around an injected async ``infer`` callable.
"""
__version__ = "0.1.0"
