"""Plan a batch: which files to cut out, where each output goes, and what is skipped and why.

Pure planning, no model: the CLI (:mod:`alphacut.cli`) runs the plan sequentially or on a
pool of worker processes (:mod:`alphacut.cli.runner`).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from ..io.decode import PRECHECK_BYTES, DecodeError, identify

#: The default output name: the input's stem with ``_no_bg.png``.
DEFAULT_NAME = "{stem}_no_bg.png"
#: Fields an output name pattern may use.
NAME_FIELDS = {"stem": "the input's name without its extension", "name": "the input's full name",
               "ext": "the input's extension, without the dot"}


@dataclass(frozen=True)
class Job:
    """One input and the output it will be written to."""

    src: Path
    out: Path


@dataclass(frozen=True)
class Skip:
    """An input that is not cut out, and why."""

    src: Path
    reason: str


def validate_name(pattern: str) -> str:
    """Check an output name pattern; return it.

    Raises
    ------
    ValueError
        Unknown or positional fields, no ``{stem}`` or ``{name}`` (every output would have one
        name), a folder separator, or a name not ending in ``.png`` (the output is a PNG).

    Examples
    --------
    >>> validate_name("{stem}.cut.png")
    '{stem}.cut.png'
    >>> validate_name("{stem}.jpg")
    Traceback (most recent call last):
    ...
    ValueError: --name '{stem}.jpg' must end in .png: the output is an RGBA PNG
    >>> validate_name("{size}.png")
    Traceback (most recent call last):
    ...
    ValueError: --name '{size}.png' uses {size}; the fields are {stem}, {name}, {ext}
    """
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(pattern) if f is not None]
    except ValueError as e:
        raise ValueError(f"--name {pattern!r} is not a valid pattern: {e}") from None
    known = ", ".join("{" + f + "}" for f in NAME_FIELDS)
    for field in fields:
        if field not in NAME_FIELDS:
            raise ValueError(f"--name {pattern!r} uses {{{field}}}; the fields are {known}")
    if not {"stem", "name"} & set(fields):
        raise ValueError(f"--name {pattern!r} must contain {{stem}} or {{name}}, or every output gets the same name")
    if "/" in pattern or "\\" in pattern:
        raise ValueError(f"--name {pattern!r} must be a file name, not a path (use -o for the folder)")
    if not pattern.lower().endswith(".png"):
        raise ValueError(f"--name {pattern!r} must end in .png: the output is an RGBA PNG")
    return pattern


def output_name(src: Path, pattern: str) -> str:
    """The output file name of ``src`` under ``pattern``.

    >>> output_name(Path("shoes/red.jpeg"), "{stem}_{ext}.png")
    'red_jpeg.png'
    """
    return pattern.format(stem=src.stem, name=src.name, ext=src.suffix.lstrip("."))


def collect(inputs: list[Path], *, recursive: bool = False) -> tuple[list[tuple[Path, Path]], list[Skip]]:
    """Expand files and folders into ``(file, relative folder)`` pairs, in a stable order.

    A folder contributes the files directly in it (``recursive``: in all its subfolders, and
    the relative folder keeps them apart in the output). Hidden files are left out.

    Returns
    -------
    files : list of (Path, Path)
    missing : list of Skip
        Inputs that do not exist, or folders given without ``recursive`` that only hold folders.
    """
    files, missing = [], []
    for item in inputs:
        if item.is_dir():
            found = sorted(item.rglob("*") if recursive else item.iterdir())
            for path in found:
                rel = path.relative_to(item)
                if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                    files.append((path, rel.parent))
        elif item.is_file():
            files.append((item, Path()))
        else:
            missing.append(Skip(item, "no such file or folder"))
    return files, missing


def refusal(path: Path) -> str | None:
    """Why ``path`` is not an image that can be read, from its size and first bytes; None if it may be.

    Uses :func:`alphacut.io.decode.identify`: empty files, text, documents, video, formats not read
    here. A damaged image passes, and fails later in the batch.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(PRECHECK_BYTES)
        identify(head, path.stat().st_size)
    except DecodeError as e:
        return str(e)
    except OSError as e:
        return f"cannot be read: {e.strerror or e}"
    return None


def plan(inputs: list[Path], outdir: Path, *, pattern: str = DEFAULT_NAME, recursive: bool = False,
         overwrite: bool = False) -> tuple[list[Job], list[Skip]]:
    """Decide what to do with each input.

    Parameters
    ----------
    inputs : list of Path
        Files and folders.
    outdir : Path
        Output folder; a recursive folder's subfolders are kept below it.
    pattern : str, optional
        Output name pattern (:func:`validate_name`).
    recursive : bool, optional
    overwrite : bool, optional
        Redo inputs whose output exists (otherwise they are skipped: a rerun resumes).

    Returns
    -------
    jobs : list of Job
    skipped : list of Skip
        Missing inputs, non-images (with the reason), existing outputs, and a second input
        that would write the same output as an earlier one.
    """
    files, skipped = collect(inputs, recursive=recursive)
    jobs, taken = [], {}
    for src, rel in files:
        out = outdir / rel / output_name(src, pattern)
        why = refusal(src)
        if why:
            skipped.append(Skip(src, why))
        elif out in taken:
            skipped.append(Skip(src, f"its output {out} is already the output of {taken[out]}"))
        elif out.exists() and not overwrite:
            taken[out] = src
            skipped.append(Skip(src, f"{out} exists (--overwrite redoes it)"))
        else:
            taken[out] = src
            jobs.append(Job(src, out))
    return jobs, skipped
