import io
import subprocess
import sys

import numpy as np
from PIL import Image

from alphacut.cli import main
from support import CAT_BACKGROUND, CAT_SUBJECT, ROOT


def test_cli_writes_no_bg_pngs(tmp_path, cat_jpeg, model_path, capsys):
    src = tmp_path / "cat.jpg"
    src.write_bytes(cat_jpeg)
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    rc = main([str(src), str(bad), "-o", str(tmp_path / "out")])
    assert rc == 1  # one input failed
    err = capsys.readouterr().err
    assert "notes.png" in err and "not an image format" in err
    out = np.asarray(Image.open(tmp_path / "out" / "cat_no_bg.png"))
    assert out.shape == (300, 451, 4)
    assert out[..., 3][CAT_SUBJECT].mean() > 0.9 * 255 and out[..., 3][CAT_BACKGROUND].mean() < 0.05 * 255
    assert not (tmp_path / "out" / "notes_no_bg.png").exists()


def test_python_dash_m_runs(tmp_path):
    img = tmp_path / "grey.png"
    Image.new("RGB", (16, 12), (128, 128, 128)).save(img)
    proc = subprocess.run([sys.executable, "-m", "alphacut", str(img), "-o", str(tmp_path), "--report"],
                          capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "py"),
                                                                          **_env()})
    assert proc.returncode == 0, proc.stderr
    assert '"width": 16' in proc.stdout
    assert Image.open(io.BytesIO((tmp_path / "grey_no_bg.png").read_bytes())).mode == "RGBA"


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_cli_escalation_flag_reaches_the_report(tmp_path, cat_jpeg, model_path, capsys):
    import json

    src = tmp_path / "cat.jpg"
    src.write_bytes(cat_jpeg)
    assert main([str(src), "-o", str(tmp_path), "--report", "--escalate", "force", "--method", "model"]) == 0
    report = json.loads(capsys.readouterr().out)
    esc = report["escalation"]
    assert esc["ran"] and esc["why"] == "asked for" and esc["kept"] in ("first", "second")
    assert esc["second"]["path"].startswith("model, letterboxed input")
    assert main([str(src), "-o", str(tmp_path), "--report", "--escalate", "off"]) == 0
    assert json.loads(capsys.readouterr().out)["escalation"] == {"ran": False, "why": "turned off"}
