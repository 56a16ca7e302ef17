"""The batch on Ray Data: ``alphacut --ray IN_DIR -o OUT_DIR`` (the ``ray`` extra).

``ray.data.read_binary_files`` reads the planned inputs, ``map_batches`` runs them through a
pool of actors that each hold one onnxruntime session (:class:`CutoutActor`, created once per
actor), and the driver writes each PNG as it arrives, atomically. Ray joins the cluster that
``RAY_ADDRESS`` names, or starts a local instance; on a cluster, the inputs must be readable
by every node (a shared file system or object store path). Each image runs the same
:func:`alphacut.cli.runner.cut` as the CLI, so the output bytes are the same.
"""
from __future__ import annotations

from collections.abc import Iterator

from ..fetch import write_atomic
from .batch import Job
from .runner import Outcome, Setup


class CutoutActor:
    """A Ray actor: one session for its lifetime, one batch of encoded images per call."""

    def __init__(self, setup: Setup):
        from .runner import start

        start(setup)

    def __call__(self, batch: dict) -> dict:
        from ..io.decode import DecodeError
        from .runner import cut

        pngs, errors = [], []
        for data in batch["bytes"]:
            try:
                pngs.append(cut(bytes(data)))
                errors.append("")
            except DecodeError as e:
                pngs.append(None)
                errors.append(str(e))
        return {"path": list(batch["path"]), "png": [r.png if r else b"" for r in pngs], "error": errors,
                "report": [r.report if r else {} for r in pngs]}


def run_ray(jobs: list[Job], setup: Setup, workers: int) -> Iterator[Outcome]:
    """Yield one :class:`~alphacut.cli.runner.Outcome` per job, from ``workers`` actors on Ray Data."""
    import logging

    import ray

    if not ray.is_initialized():
        ray.init(logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the CLI has its own bar
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    by_path = {str(job.src.resolve()): job for job in jobs}
    # Reading is I/O: it asks for no CPU, so the actors may take them all without starving it.
    ds = ray.data.read_binary_files(list(by_path), include_paths=True, num_cpus=0)
    ds = ds.map_batches(CutoutActor, fn_constructor_args=(setup,), batch_size=1, concurrency=workers,
                        num_cpus=1, batch_format="numpy")
    for row in ds.iter_rows():
        job = by_path[_local(row["path"], by_path)]
        if row["error"]:
            yield Outcome(job, False, str(row["error"]))
            continue
        write_atomic(job.out, bytes(row["png"]))
        yield Outcome(job, True, report=dict(row["report"]))


def _local(path: str, known: dict) -> str:
    """Ray may drop the leading slash of a local path; find the planned path it stands for."""
    return path if path in known else "/" + path.lstrip("/")
