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
