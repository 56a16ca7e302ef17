"""The cluster path (alphacut --ray) on a local Ray instance: the same bytes as the plain CLI."""
from __future__ import annotations

import pytest

from alphacut.cli import main
from support import ROOT, studio, write

# Ray's own code warns about its own deprecated settings (ray.data.context, 2.60).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")

ray = pytest.importorskip("ray", reason="ray is not installed (pip install alphacut[ray]; make deps installs it)")


@pytest.fixture
def local_ray(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "py"))  # Ray's worker processes import this checkout's package
    ray.init(num_cpus=2, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    yield
    ray.shutdown()


def test_ray_writes_the_same_bytes_as_the_plain_cli(tmp_path, cat_jpeg, model_path, local_ray):
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / "cat.jpg", cat_jpeg)
    studio(tmp_path / "in", "red.png", (200, 30, 30))
    studio(tmp_path / "in", "blue.png", (30, 30, 200), size=(50, 70))
    (tmp_path / "in" / "notes.txt").write_text("not a photo")
    model = ["--model", str(model_path)]
    assert main([str(tmp_path / "in"), "-o", str(tmp_path / "plain"), "--jobs", "1", *model]) == 0
    assert main([str(tmp_path / "in"), "-o", str(tmp_path / "ray"), "--ray", "--jobs", "2", *model]) == 0
    names = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert names == ["blue_no_bg.png", "cat_no_bg.png", "red_no_bg.png"]
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == names
    for name in names:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name
