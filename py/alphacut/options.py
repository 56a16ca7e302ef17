"""Options dataclasses: one validator, one error wording, one description for the page.

Every options class (:class:`alphacut.pipeline.Options`, :class:`alphacut.editmerge.MergeOptions`,
:class:`alphacut.matte.colorkey.ColourKeyOptions`, :class:`alphacut.quality.QualityThresholds`)
declares each field with one of the helpers below, which records its default and what it
accepts, and derives from :class:`OptionsBase`, which calls :func:`validate` on creation and
builds the class from the JSON the page sends (:func:`from_plain_dict`). :func:`describe` gives
the page its defaults, ranges and choices (the site build writes them out, so the page has no
copy of its own). Functions with keyword options check them with the same classes
(``Number(0, 1).check("amount", amount)``).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields

__all__ = ["Choice", "Flag", "Ids", "Integer", "Number", "OptionsBase", "Thresholds", "choice", "describe", "flag",
           "from_plain_dict", "ids", "integer", "number", "thresholds", "validate"]


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


@dataclass(frozen=True)
class Number:
    """A real number in ``[lo, hi]``, stored as float; ``hi`` None for no upper bound."""

    lo: float
    hi: float | None = None
    kind = "number"

    def check(self, name, v):
        if not (self.accepts(v) and self.lo <= v and (self.hi is None or v <= self.hi)):  # NaN fails too
            where = f">= {self.lo}" if self.hi is None else f"in [{self.lo}, {self.hi}]"
            raise ValueError(f"{name} must be {'an' if self.kind == 'integer' else 'a'} {self.kind} {where}, got {v!r}")
        return self.convert(v)

    @staticmethod
    def accepts(v) -> bool:
        return _is_number(v)

    @staticmethod
    def convert(v):
        return float(v)

    def describe(self) -> dict:
        return {"type": self.kind, "min": self.lo, "max": self.hi}


class Integer(Number):
    """An integer in ``[lo, hi]``; ``hi`` None for no upper bound."""

    kind = "integer"

    @staticmethod
    def accepts(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    @staticmethod
    def convert(v):
        return int(v)


@dataclass(frozen=True)
class Flag:
    """True or false."""

    def check(self, name, v):
        if not isinstance(v, bool):
            raise ValueError(f"{name} must be true or false, got {v!r}")
        return v

    def describe(self) -> dict:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Choice:
    """One of a few strings."""

    values: tuple[str, ...]

    def check(self, name, v):
        if v not in self.values:
            raise ValueError(f"{name} must be one of {', '.join(self.values)}, got {v!r}")
        return v

    def describe(self) -> dict:
        return {"type": "choice", "choices": list(self.values)}


@dataclass(frozen=True)
class Ids:
    """A list of ids, integers >= 1; stored as a tuple."""

    def check(self, name, v):
        if not isinstance(v, (list, tuple)) or not all(
                isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 1 for i in v):
            raise ValueError(f"{name} must be a list of ids (integers >= 1), got {v!r}")
        return tuple(int(i) for i in v)

    def describe(self) -> dict:
        return {"type": "ids"}


@dataclass(frozen=True)
class Thresholds:
    """A ``(suspicious, bad)`` pair of a score; ``bad`` may be infinite (a check that only warns)."""

    lower_is_worse: bool

    def check(self, name, v):
        order = "bad <= suspicious (lower is worse)" if self.lower_is_worse else "bad >= suspicious (higher is worse)"
        ok = isinstance(v, tuple) and len(v) == 2 and all(_is_number(x) for x in v)
        if ok:
            s, b = (float(x) for x in v)
            ok = math.isfinite(s) and not math.isnan(b) and (b <= s if self.lower_is_worse else b >= s)
        if not ok:
            raise ValueError(f"{name} must be a (suspicious, bad) pair of numbers with {order}, got {v!r}")
        return s, b

    def describe(self) -> dict:
        return {"type": "thresholds", "lower_is_worse": self.lower_is_worse}


def _option(default, spec):
    return field(default=default, metadata={"option": spec})


def number(default: float, lo: float, hi: float):
    """A dataclass field holding a number in ``[lo, hi]``."""
    return _option(default, Number(lo, hi))


def integer(default: int, lo: int, hi: int | None = None):
    """A dataclass field holding an integer in ``[lo, hi]`` (no upper bound if ``hi`` is None)."""
    return _option(default, Integer(lo, hi))


def flag(default: bool):
    """A dataclass field holding true or false."""
    return _option(default, Flag())


def choice(default: str, values):
    """A dataclass field holding one of ``values``."""
    return _option(default, Choice(tuple(values)))


def ids(default=()):
    """A dataclass field holding a tuple of ids (integers >= 1)."""
    return _option(tuple(default), Ids())


def thresholds(suspicious: float, bad: float, *, lower_is_worse: bool = False):
    """A dataclass field holding a score's ``(suspicious, bad)`` pair."""
    return _option((suspicious, bad), Thresholds(lower_is_worse))


def validate(obj) -> None:
    """Check every field of the frozen options dataclass ``obj``, and store the normalised values.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     size: int = integer(1, 1, 9)
    ...     gain: float = number(1.0, 0.0, 2.0)
    ...     def __post_init__(self):
    ...         validate(self)
    >>> Demo(gain=2)
    Demo(size=1, gain=2.0)
    >>> Demo(size=10)
    Traceback (most recent call last):
    ...
    ValueError: size must be an integer in [1, 9], got 10
    """
    for f in fields(obj):
        spec = f.metadata.get("option")
        if spec is not None:
            object.__setattr__(obj, f.name, spec.check(f.name, getattr(obj, f.name)))


def describe(cls) -> dict:
    """The defaults and what each field accepts, JSON-able: what the page reads.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     mode: str = choice("fast", ("fast", "slow"))
    >>> describe(Demo)
    {'mode': {'type': 'choice', 'choices': ['fast', 'slow'], 'default': 'fast'}}
    """
    out = {}
    for f in fields(cls):
        spec = f.metadata.get("option")
        if spec is not None:
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            out[f.name] = {**spec.describe(), "default": default}
    return out


class OptionsBase:
    """Base of the options dataclasses: validated on creation, and built from plain dicts.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Demo(OptionsBase):
    ...     gain: float = number(1.0, 0.0, 2.0)
    >>> Demo.from_dict({"gain": 2})
    Demo(gain=2.0)
    >>> Demo(gain=3)
    Traceback (most recent call last):
    ...
    ValueError: gain must be a number in [0.0, 2.0], got 3
    """

    def __post_init__(self):
        validate(self)

    @classmethod
    def from_dict(cls, d: dict | None):
        """Build options from a plain dict (from JSON or JS), rejecting unknown keys (:func:`from_plain_dict`)."""
        return from_plain_dict(cls, d)


def from_plain_dict(cls, d: dict | None):
    """Build the dataclass ``cls`` from ``d``, rejecting unknown keys.

    JSON has one number type, so an int is accepted for a ``float`` field and an integral float
    for an ``int`` field (fields annotated as the strings ``'float'`` / ``'int'``, as under
    ``from __future__ import annotations``).

    Examples
    --------
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
