"""Option dataclasses from plain dicts: the JSON the page sends, or keyword arguments.

One helper for every options class (:class:`alphacut.pipeline.Options`,
:class:`alphacut.editmerge.MergeOptions`), so that they reject unknown keys and read JSON
numbers the same way. Each class still validates its own values in ``__post_init__``.
"""
from __future__ import annotations

from dataclasses import fields


def from_plain_dict(cls, d: dict | None):
    """Build the dataclass ``cls`` from ``d``, rejecting unknown keys.

    JSON has one number type, so an int is accepted for a ``float`` field and an integral float
    for an ``int`` field (fields annotated as the strings ``'float'`` / ``'int'``, as under
    ``from __future__ import annotations``).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     size: int = 1
    ...     gain: float = 1.0
    >>> from_plain_dict(Demo, {"size": 4.0, "gain": 2})
    Demo(size=4, gain=2.0)
    >>> from_plain_dict(Demo, {"colour": 1})
    Traceback (most recent call last):
    ...
    ValueError: unknown option(s): colour
    """
    d = dict(d or {})
    known = {f.name: f.type for f in fields(cls)}
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ValueError(f"unknown option(s): {', '.join(unknown)}")
    for name, value in d.items():
        if known[name] in ("float", float) and isinstance(value, int) and not isinstance(value, bool):
            d[name] = float(value)
        elif known[name] in ("int", int) and isinstance(value, float) and value.is_integer():
            d[name] = int(value)
    return cls(**d)
