import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from alphacut.cli import main
from support import CAT_BACKGROUND, CAT_SUBJECT, ROOT, png_bytes, studio, write


def test_cli_writes_no_bg_pngs(tmp_path, cat_jpeg, model_path, capsys):
    src = tmp_path / "cat.jpg"
    src.write_bytes(cat_jpeg)
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    rc = main([str(src), str(bad), "-o", str(tmp_path / "out")])
    assert rc == 0  # a file that is not an image is skipped, with the reason
    err = capsys.readouterr().err
    assert f"skipped {bad}: this is a text file, not an image format" in err
    assert "1 done, 1 skipped, 0 failed in" in err
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
    assert main([str(src), "-o", str(tmp_path), "--report", "--escalate", "off", "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["escalation"] == {"ran": False, "why": "turned off"}


def _run(args, model_path):
    return main([str(a) for a in args] + ["--model", str(model_path)])


def test_folders_recursive_names_and_a_summary_with_exit_codes(tmp_path, model_path, capsys):
    studio(tmp_path / "in", "a.png", (200, 30, 30))
    studio(tmp_path / "in" / "sub", "b.png", (30, 30, 200))
    (tmp_path / "in" / "broken.png").write_bytes(png_bytes(np.zeros((40, 40, 3), np.uint8))[:60])
    (tmp_path / "in" / "readme.txt").write_text("not a photo")
    rc = _run([tmp_path / "in", "-o", tmp_path / "flat", "--name", "{stem}.cut.png"], model_path)
    err = capsys.readouterr().err
    assert rc == 1  # broken.png failed
    assert sorted(p.name for p in (tmp_path / "flat").iterdir()) == ["a.cut.png"]
    assert "failed " in err and "broken.png: the PNG file is damaged or truncated" in err
    assert "readme.txt: this is a text file" in err
    assert "1 done, 1 skipped, 1 failed in" in err
    (tmp_path / "in" / "broken.png").unlink()
    assert _run([tmp_path / "in", "-r", "-o", tmp_path / "tree"], model_path) == 0
    assert sorted(str(p.relative_to(tmp_path / "tree")) for p in (tmp_path / "tree").rglob("*.png")) == [
        "a_no_bg.png", "sub/b_no_bg.png"]


def test_existing_outputs_are_skipped_and_overwrite_redoes_them(tmp_path, model_path, capsys):
    src = studio(tmp_path, "a.png", (200, 30, 30))
    out = tmp_path / "out" / "a_no_bg.png"
    assert _run([src, "-o", tmp_path / "out"], model_path) == 0
    out.write_bytes(b"stale")
    capsys.readouterr()
    assert _run([src, "-o", tmp_path / "out"], model_path) == 0
    assert out.read_bytes() == b"stale" and "exists (--overwrite redoes it)" in capsys.readouterr().err
    assert _run([src, "-o", tmp_path / "out", "--overwrite"], model_path) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (["--name", "{stem}.jpg"], "must end in .png"),
    (["-", "-"], "must be the only input"),
    (["--jobs", "-1"], "must be 0 (automatic) or more"),
])
def test_usage_errors_exit_2(tmp_path, args, message, capsys):
    src = studio(tmp_path, "a.png", (200, 30, 30))
    assert main([str(src), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_device_that_onnxruntime_lacks_is_a_clear_error(tmp_path, model_path, capsys):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    assert _run([studio(tmp_path, "a.png", (200, 30, 30)), "--device", "cuda"], model_path) == 2
    assert "--device cuda needs onnxruntime's CUDAExecutionProvider" in capsys.readouterr().err


def test_offline_without_the_model_says_where_to_put_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALPHACUT_CACHE", str(tmp_path / "cache"))
    assert main([str(studio(tmp_path, "a.png", (200, 30, 30))), "--offline", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--offline forbids downloading" in err
    assert str(tmp_path / "cache" / "models" / "isnet-fp32-15514b0d6cc9.onnx") in err
    assert str(tmp_path / "cache" / "npm" / "background-removal-data-1.4.5.tgz") in err
    assert "registry.npmjs.org/@imgly/background-removal-data/-/background-removal-data-1.4.5.tgz" in err


def test_stdin_to_stdout(tmp_path, cat_jpeg, model_path):
    proc = subprocess.run([sys.executable, "-m", "alphacut", "-", "--model", str(model_path)], input=cat_jpeg,
                          capture_output=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "py"), **_env()})
    assert proc.returncode == 0, proc.stderr
    assert main([str(write(tmp_path / "cat.jpg", cat_jpeg)), "-o", str(tmp_path), "--model", str(model_path)]) == 0
    assert proc.stdout == (tmp_path / "cat_no_bg.png").read_bytes()


def test_parallel_output_is_byte_identical_to_the_plain_loop(tmp_path, cat_jpeg, model_path):
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / "cat.jpg", cat_jpeg)
    studio(tmp_path / "in", "red.png", (200, 30, 30))
    studio(tmp_path / "in", "blue.png", (30, 30, 200), size=(50, 70))
    assert _run([tmp_path / "in", "-o", tmp_path / "seq", "--jobs", "1"], model_path) == 0
    assert _run([tmp_path / "in", "-o", tmp_path / "par", "--jobs", "2"], model_path) == 0
    names = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert names == ["blue_no_bg.png", "cat_no_bg.png", "red_no_bg.png"]
    for name in names:
        assert (tmp_path / "par" / name).read_bytes() == (tmp_path / "seq" / name).read_bytes(), name


def test_ctrl_c_stops_cleanly_with_exit_130(tmp_path, model_path, monkeypatch, capsys):
    from alphacut.cli import runner

    for i in range(3):
        studio(tmp_path / "in", f"{i}.png", (200, 30, 30))
    real, calls = runner.run_job, []

    def interrupt_on_second(job):
        calls.append(job)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(runner, "run_job", interrupt_on_second)
    assert _run([tmp_path / "in", "-o", tmp_path / "out", "--jobs", "1"], model_path) == 130
    assert "interrupted: 1 done, 0 failed, 2 not started or unfinished" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["0_no_bg.png"]  # no half-written file
