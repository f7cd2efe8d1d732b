import json
import subprocess
import sys
from pathlib import Path

import pytest

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
                 "--model", "biharmonic", "-o", str(out), "-q"]) == 0
    from xinpaint.io import read_image

    result = read_image(out).data
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result[~holes], frames[~holes])
    assert np.abs(result[holes].astype(int) - frames[holes]).max() <= 1  # a plane is exact


def test_inpaint_without_a_model_uses_the_recommended_default(tmp_path, monkeypatch):
    import numpy as np

    import xinpaint.inference as inference

    frames, holes = _files(tmp_path)
    calls = []
    monkeypatch.setattr(inference, "recommended_model", lambda *a: calls.append(a) or "linear")
    out = tmp_path / "out.npy"
    assert main(["inpaint", str(tmp_path / "frames.npy"), "--holes", str(tmp_path / "holes.npy"),
                 "-o", str(out), "-q"]) == 0
    expected = inference.inpaint(frames.astype(np.float32), holes, model="linear")
    np.testing.assert_allclose(np.load(out)[holes], expected[holes], atol=1)
    assert calls


def test_metal_threshold_segments_bright_metal(tmp_path):
    import numpy as np

    frames, holes = _files(tmp_path)
    with_metal = frames.copy()
    with_metal[holes] = 60000
    np.save(tmp_path / "metal.npy", with_metal)
    out = tmp_path / "out.npy"
    assert main(["inpaint", str(tmp_path / "metal.npy"), "--metal-threshold", "50000",
                 "--dilate", "0", "--model", "biharmonic", "-o", str(out), "-q"]) == 0
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


def test_models_marks_the_recommended_model_and_the_default(monkeypatch, capsys, tmp_path):
    import xinpaint.inference as inference

    cards = {"hybrid2d": {"kind": "hybrid, 2D", "profile": "cpu", "recommended": True,
                          "why": "beats biharmonic and nmar on the test split", "path": "x.keras",
                          "test": {"hole_psnr": 44.0}},
             "pconv2d": {"kind": "2D", "profile": "cpu", "recommended": False,
                         "test": {"hole_psnr": 30.0}, "training": {"steps": 10}},
             "hybrid3d": {"kind": "2D+T", "profile": "cpu", "test": {"hole_psnr": 52.0}}}
    monkeypatch.setattr(inference, "shipped_models", lambda: cards)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "hybrid2d                 hybrid, 2D, profile cpu, test hole PSNR 44.0 dB  [recommended]" in out
    assert "pconv2d" in out and out.count("[recommended]") == 1
    assert out.count("an earlier card (ideal data, before the one footing)") == 1  # hybrid3d's
    assert "default of `xinpaint inpaint`: hybrid2d" in out
    monkeypatch.setattr(inference, "shipped_models", lambda: {})
    assert main(["models"]) == 0
    assert "default of `xinpaint inpaint`: biharmonic (no shipped model beats" in capsys.readouterr().out


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


# ------------------------------------------------------- fast and quiet (issue #21)

_NO_TENSORFLOW = """
import json, sys
import numpy as np
from xinpaint.cli import main

folder = sys.argv[1]
codes = {}
codes["inpaint"] = main(["inpaint", f"{folder}/frames.npy", "--holes", f"{folder}/holes.npy",
                         "--model", "biharmonic", "-o", f"{folder}/out.npy", "-q",
                         "--preview", f"{folder}/preview.png"])
codes["evaluate"] = main(["evaluate", f"{folder}/frames.npy", f"{folder}/out.npy",
                          "--holes", f"{folder}/holes.npy", "--json"])
codes["models"] = main(["models"])
codes["info"] = main(["info", "--json"])
print(json.dumps({"codes": codes, "tensorflow": "tensorflow" in sys.modules,
                  "keras": "keras" in sys.modules}))
"""


def test_commands_without_a_network_import_neither_tensorflow_nor_keras(tmp_path):
    _files(tmp_path)
    out = subprocess.run([sys.executable, "-c", _NO_TENSORFLOW, str(tmp_path)],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["codes"] == {"inpaint": 0, "evaluate": 0, "models": 0, "info": 0}
    assert report == {**report, "tensorflow": False, "keras": False}


def test_info_finds_gpus_without_tensorflow_unless_asked():
    out = subprocess.run([str(SCRIPT), "info", "--json"], capture_output=True, text=True,
                         check=True)
    info = json.loads(out.stdout)
    assert info["gpus_seen_by"] == "driver" and out.stderr == ""


def test_classical_cli_run_has_empty_stderr(tmp_path):
    import numpy as np

    frames, holes = _files(tmp_path)
    out = subprocess.run(
        [str(SCRIPT), "inpaint", str(tmp_path / "frames.npy"), "--holes",
         str(tmp_path / "holes.npy"), "--model", "biharmonic", "-o", str(tmp_path / "out.npy"),
         "--preview", str(tmp_path / "preview.png")],
        capture_output=True, text=True,
    )
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.startswith("wrote ") and "preview" in out.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy")[~holes], frames[~holes])


@pytest.mark.slow
def test_network_cli_run_is_quiet_and_verbose_on_request(tmp_path):
    """A shipped network: TensorFlow's import noise never reaches stderr, unless -v."""
    _files(tmp_path)
    base = [str(SCRIPT), "inpaint", str(tmp_path / "frames.npy"), "--holes",
            str(tmp_path / "holes.npy"), "--model", "pconv2d", "--device", "cpu"]
    quiet = subprocess.run([*base, "-o", str(tmp_path / "a.npy")], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = subprocess.run([*base, "-o", str(tmp_path / "b.npy"), "-v"], capture_output=True,
                          text=True)
    assert loud.returncode == 0
    import numpy as np

    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_verbose_before_or_after_the_command():
    from xinpaint.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["-v", "models"]).verbose is True
    assert parser.parse_args(["models", "--verbose"]).verbose is True
    assert parser.parse_args(["models"]).verbose is False


def test_verbose_lets_python_warnings_through(monkeypatch):
    import warnings

    def warn(args):
        warnings.warn("a warning the user asked to see", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr("xinpaint.cli._cmd_models", warn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["models"]) == 0
    assert not caught
    with pytest.warns(UserWarning, match="asked to see"):
        assert main(["models", "-v"]) == 0


def test_preview_is_a_png_of_input_output_and_zoom(tmp_path):
    import numpy as np
    from PIL import Image

    from xinpaint.plotting.preview import PANEL_TITLES

    _, holes = _files(tmp_path)
    holes[1, 20:30, 30:40] = True  # frame 1 hides the most pixels
    np.save(tmp_path / "holes.npy", holes.astype(np.uint8))
    preview = tmp_path / "preview.png"
    assert main(["inpaint", str(tmp_path / "frames.npy"), "--holes", str(tmp_path / "holes.npy"),
                 "-o", str(tmp_path / "out.npy"), "-q", "--preview", str(preview)]) == 0
    assert preview.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(preview) as img:
        assert img.format == "PNG" and img.size == (1050, 430)  # three 3.5-inch panels, a title
        picture = np.asarray(img.convert("RGB")).astype(int)
    # Three panels side by side: each third of the picture holds an image (grey pixels).
    for third in np.array_split(picture, 3, axis=1):
        grey = (np.ptp(third, axis=-1) < 8) & (third.mean(axis=-1) < 250)
        assert grey.mean() > 0.3
    assert PANEL_TITLES == ("input, holes outlined", "output", "zoom on the largest hole")


def test_preview_figure_shows_the_most_hidden_frame_and_its_largest_hole():
    import numpy as np

    from xinpaint.plotting.panels import hole_box
    from xinpaint.plotting.preview import PANEL_TITLES, preview_figure

    frames = np.random.default_rng(0).random((4, 64, 80)).astype(np.float32)
    holes = np.zeros(frames.shape, bool)
    holes[:, 5:8, 5:9] = True
    holes[2, 30:50, 40:70] = True  # frame 2: the most hidden pixels, and its largest hole
    fig = preview_figure(frames, frames, holes)
    axes = fig.axes
    assert len(axes) == 3
    titles = [ax.get_title() for ax in axes]
    for title, expected in zip(titles, PANEL_TITLES, strict=True):
        assert title.startswith(expected)
    assert "frame 2 of 4" in titles[0]
    rows, cols = hole_box(holes[2], which="largest", margin=8, min_size=32)
    zoom = axes[2].get_images()[0].get_array()
    assert zoom.shape == (rows.stop - rows.start, cols.stop - cols.start)
    np.testing.assert_array_equal(zoom, frames[2][rows, cols])
    np.testing.assert_array_equal(axes[0].get_images()[0].get_array(), frames[2])


def test_bad_preview_is_one_line_and_exit_2(tmp_path, capsys):
    _files(tmp_path)
    base = ["inpaint", str(tmp_path / "frames.npy"), "--holes", str(tmp_path / "holes.npy"),
            "-o", str(tmp_path / "out.npy")]
    _fails([*base, "--preview", str(tmp_path / "p.jpg")], capsys,
           "preview: expected a name ending in .png")
    (tmp_path / "p.png").write_bytes(b"")
    _fails([*base, "--preview", str(tmp_path / "p.png")], capsys,
           "preview exists (pass --overwrite to replace it)")
    assert not (tmp_path / "out.npy").exists()


def test_simulate_writes_a_realistic_scan_with_its_rtk_geometry(tmp_path):
    from xinpaint.io import read_image
    from xinpaint.reconstruction import read_geometry

    frames, xml = tmp_path / "scan.npy", tmp_path / "scan.xml"
    assert main(["simulate", "-o", str(frames), "--frames", "5", "--size", "48", "--seed", "2",
                 "--metal", "needles", "--with-metal", "--geometry-output", str(xml), "-q"]) == 0
    stack = read_image(frames).data
    assert stack.shape == (5, 48, 48)
    geometry = read_geometry(xml)
    angles = geometry.angles if hasattr(geometry, "angles") else None
    assert angles is None or len(angles) == 5
