import json
import subprocess
import sys
from pathlib import Path

import xinpaint
from xinpaint.cli import main

SCRIPT = Path(sys.executable).with_name("xinpaint")


def test_console_script_version():
    out = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"xinpaint {xinpaint.__version__}"


def test_python_dash_m_version():
    out = subprocess.run([sys.executable, "-m", "xinpaint", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"xinpaint {xinpaint.__version__}"


def test_info_json_reports_versions_devices_profile():
    out = subprocess.run([str(SCRIPT), "info", "--json"], capture_output=True, text=True,
                         check=True)
    info = json.loads(out.stdout)
    assert info["xinpaint"] == xinpaint.__version__
    assert info["versions"]["tensorflow"]
    assert info["profile"] == ("gpu" if info["gpus"] else "cpu")
    assert "cuda" not in out.stderr.lower()  # TensorFlow's import noise is kept out


def test_info_text(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "profile:" in text and "tensorflow" in text


def test_no_command_prints_help_and_exit_code_2(capsys):
    assert main([]) == 2
    assert "usage: xinpaint" in capsys.readouterr().out


# ----------------------------------------------------------------------------- inpaint


def _files(tmp_path, dtype=None):
    import numpy as np

    y, x = np.mgrid[:40, :48]
    frames = (1000 + 20 * x + 10 * y).astype(np.uint16)[None].repeat(3, axis=0)
    holes = np.zeros(frames.shape, np.uint8)
    holes[:, 10:14, 5:30] = 1
    np.save(tmp_path / "frames.npy", frames)
    np.save(tmp_path / "holes.npy", holes)
    return frames, holes.astype(bool)


def test_inpaint_file_keeps_dtype_and_visible_pixels(tmp_path):
    import numpy as np

    frames, holes = _files(tmp_path)
    out = tmp_path / "out.tif"
    assert main(["inpaint", str(tmp_path / "frames.npy"), "--holes", str(tmp_path / "holes.npy"),
                 "-o", str(out), "-q"]) == 0
    from xinpaint.io import read_image

    result = read_image(out).data
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result[~holes], frames[~holes])
    assert np.abs(result[holes].astype(int) - frames[holes]).max() <= 1  # a plane is exact


def test_metal_threshold_segments_bright_metal(tmp_path):
    import numpy as np

    frames, holes = _files(tmp_path)
    with_metal = frames.copy()
    with_metal[holes] = 60000
    np.save(tmp_path / "metal.npy", with_metal)
    out = tmp_path / "out.npy"
    assert main(["inpaint", str(tmp_path / "metal.npy"), "--metal-threshold", "50000",
                 "--dilate", "0", "-o", str(out), "-q"]) == 0
    result = np.load(out)
    assert np.abs(result.astype(int) - frames).max() <= 1


def _fails(args, capsys, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err, err


def test_inpaint_bad_input_exits_2_with_one_line(tmp_path, capsys):
    import numpy as np

    _files(tmp_path)
    frames, holes, out = (str(tmp_path / n) for n in ("frames.npy", "holes.npy", "out.npy"))
    _fails(["inpaint", str(tmp_path / "missing.tif"), "--holes", holes, "-o", out], capsys,
           "input: No such file")
    (tmp_path / "junk.tif").write_bytes(b"junk")
    _fails(["inpaint", str(tmp_path / "junk.tif"), "--holes", holes, "-o", out], capsys,
           "input: Could not read the file as tiff")
    np.save(tmp_path / "small.npy", np.zeros((3, 40, 40), bool))
    _fails(["inpaint", frames, "--holes", str(tmp_path / "small.npy"), "-o", out], capsys,
           "holes: shape (3, 40, 40) differs from the input's (3, 40, 48)")
    np.save(tmp_path / "empty.npy", np.zeros((3, 40, 48), bool))
    _fails(["inpaint", frames, "--holes", str(tmp_path / "empty.npy"), "-o", out], capsys,
           "the mask is empty")
    full = np.zeros((3, 40, 48), bool)
    full[1] = True
    np.save(tmp_path / "full.npy", full)
    _fails(["inpaint", frames, "--holes", str(tmp_path / "full.npy"), "-o", out], capsys,
           "hides every pixel of frame 1")
    _fails(["inpaint", frames, "--holes", holes, "--model", "nope", "-o", out], capsys,
           "Received model='nope'")
    _fails(["inpaint", frames, "--holes", holes, "--value-range", "5", "5", "-o", out], capsys,
           "Received value_range=[5.0, 5.0]")
    assert not (tmp_path / "out.npy").exists()  # nothing written on failure


def test_existing_output_needs_overwrite(tmp_path, capsys):
    _files(tmp_path)
    out = tmp_path / "out.npy"
    out.write_bytes(b"keep me")
    args = ["inpaint", str(tmp_path / "frames.npy"), "--holes", str(tmp_path / "holes.npy"),
            "-o", str(out), "-q"]
    _fails(args, capsys, "output exists (pass --overwrite to replace it)")
    assert out.read_bytes() == b"keep me"
    assert main([*args, "--overwrite"]) == 0


def test_models_lists_classical_methods(capsys):
    assert main(["models"]) == 0
    assert "biharmonic" in capsys.readouterr().out


def test_simulate_inpaint_evaluate_round_trip(tmp_path, capsys):
    import numpy as np

    from xinpaint import metrics
    from xinpaint.io import read_image

    frames, holes = tmp_path / "seq.tif", tmp_path / "seq-holes.tif"
    assert main(["simulate", "-o", str(frames), "--frames", "3", "--size", "64", "--seed", "3"]) == 0
    truth, mask = read_image(frames).data, read_image(holes).data.astype(bool)
    assert truth.shape == mask.shape == (3, 64, 64) and truth.dtype == np.float32
    assert mask.any() and not mask.all(axis=(1, 2)).any()
    assert main(["simulate", "-o", str(frames), "--frames", "3", "--size", "64"]) == 2
    assert "exists (pass --overwrite" in capsys.readouterr().err
    again = tmp_path / "again.npy"
    assert main(["simulate", "-o", str(again), "--frames", "3", "--size", "64", "--seed", "3", "-q"]) == 0
    np.testing.assert_array_equal(np.load(again), truth)  # one seed, one sequence

    out = tmp_path / "out.tif"
    assert main(["inpaint", str(frames), "--holes", str(holes), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(frames), str(out), "--holes", str(holes), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    inpainted = read_image(out).data
    assert row["hole_psnr"] == metrics.psnr(truth, inpainted, holes=mask)
    assert row["ssim"] == metrics.ssim(truth, inpainted)
    assert 25 < row["hole_psnr"] < 100


def test_evaluate_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    import numpy as np

    truth = np.random.default_rng(0).random((2, 16, 16)).astype(np.float32)
    np.save(tmp_path / "truth.npy", truth)
    np.save(tmp_path / "small.npy", truth[:, :8])
    np.save(tmp_path / "empty.npy", np.zeros(truth.shape, np.uint8))
    holes = np.zeros(truth.shape, np.uint8)
    holes[:, 4:8, 4:8] = 1
    np.save(tmp_path / "holes.npy", holes)
    cases = [
        (["small.npy"], "holes.npy", "shape (2, 8, 16) differs from the truth's (2, 16, 16)"),
        (["truth.npy"], "empty.npy", "the mask is empty"),
        (["missing.npy"], "holes.npy", "output:"),
    ]
    for outputs, mask, message in cases:
        code = main(["evaluate", str(tmp_path / "truth.npy"), *[str(tmp_path / o) for o in outputs],
                     "--holes", str(tmp_path / mask)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
