"""Rebuild the real-photo dev sets from their public sources, as listed in bench/manifests/.

Each manifest names, for every photo, the GitHub repository, the commit and the paths of the
photo and its mask. This script reads each file at that commit (``git show``) from a local copy
of the repository and writes the set where the benchmarks read it::

    ../shared/data/<set>/image/<id>.<ext>   the photo, byte for byte
    ../shared/data/<set>/alpha/<id>.png     the mask, as 8-bit grey (GIF and palette masks converted)
    ../shared/data/<set>/manifest.json      the manifest's entries

The sets are research data under their owners' terms (docs/devsets.md): they are read in place,
never copied into this repository.

A repository ``owner/name`` is looked for as a git directory under ``--mirror``
(``<mirror>/<owner>+<name>/repo``, the layout of this project's research mirror) and otherwise
cloned from GitHub into ``--clones`` (needs the network; large repositories take a while).

Usage: python -m bench.build_devsets [--sets realmask ecssd60] [--out ../shared/data]
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
MANIFESTS = HERE / "manifests"
DEFAULT_OUT = HERE.parent.parent / "shared" / "data"


def git_dir(repo: str, mirror: Path, clones: Path) -> Path:
    """A local git directory holding ``repo`` (owner/name): the mirror's, or a fresh clone."""
    owner, name = repo.split("/")
    local = mirror / f"{owner}+{name}" / "repo"
    if local.exists():
        return local
    target = clones / f"{owner}+{name}.git"
    if not target.exists():
        clones.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--bare", "--filter=blob:none", f"https://github.com/{repo}.git",
                        str(target)], check=True)
    return target


def show(gitdir: Path, commit: str, path: str) -> bytes:
    """The bytes of ``path`` at ``commit``."""
    r = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"], capture_output=True)
    if r.returncode:
        raise FileNotFoundError(f"{commit[:12]}:{path}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def build(name: str, out: Path, mirror: Path, clones: Path) -> int:
    doc = json.loads((MANIFESTS / f"{name}.json").read_text())
    dest = out / name
    (dest / "image").mkdir(parents=True, exist_ok=True)
    (dest / "alpha").mkdir(parents=True, exist_ok=True)
    written = 0
    for e in doc["images"]:
        gd = git_dir(e["source_repo"], mirror, clones)
        photo = show(gd, e["commit"], e["image_path"])
        mask = Image.open(io.BytesIO(show(gd, e["commit"], e["alpha_path"]))).convert("L")
        ext = Path(e["image_path"]).suffix.lower()
        size = Image.open(io.BytesIO(photo)).size
        if mask.size != size:
            raise ValueError(f"{name}/{e['id']}: mask {mask.size} != photo {size}")
        (dest / "image" / f"{e['id']}{ext}").write_bytes(photo)
        mask.save(dest / "alpha" / f"{e['id']}.png")
        written += 1
    (dest / "manifest.json").write_text(json.dumps(doc, indent=1))
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=sorted(p.stem for p in MANIFESTS.glob("*.json")))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--clones", type=Path, default=Path.home() / ".cache" / "alphacut" / "devset-sources")
    args = ap.parse_args(argv)
    for name in args.sets:
        n = build(name, args.out, args.mirror, args.clones)
        print(f"{name}: {n} photos in {args.out / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
