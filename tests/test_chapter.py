"""xinpaint.chapter: quiet native stderr, verbose on request, paths a page may print."""

import os
import subprocess
import sys
from pathlib import Path

from xinpaint.chapter import native_stderr_silenced, shown_path, verbose

_WRITE_BOTH = """
import os, sys
from xinpaint.chapter import native_stderr_silenced
with native_stderr_silenced():
    os.write(2, b"I0000 00:00:1.0 1 cudart_stub.cc:31] native noise\\n")
    print("python error line", file=sys.stderr)
os.write(2, b"after the context\\n")
"""


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "XINPAINT_VERBOSE"}
    return subprocess.run([sys.executable, "-c", _WRITE_BOTH], capture_output=True, text=True,
                          env={**env, **env_extra}, check=True)


def test_native_stderr_is_dropped_and_python_stderr_kept():
    err = _run({}).stderr
    assert "native noise" not in err
    assert "python error line" in err and "after the context" in err


def test_verbose_environment_keeps_native_stderr():
    err = _run({"XINPAINT_VERBOSE": "1"}).stderr
    assert "native noise" in err and "python error line" in err


def test_verbose_reads_the_environment(monkeypatch):
    monkeypatch.delenv("XINPAINT_VERBOSE", raising=False)
    assert verbose() is False
    monkeypatch.setenv("XINPAINT_VERBOSE", "0")
    assert verbose() is False
    monkeypatch.setenv("XINPAINT_VERBOSE", "1")
    assert verbose() is True


def test_silenced_context_restores_descriptor_2(capfd):
    with native_stderr_silenced():
        os.write(2, b"dropped\n")
    os.write(2, b"kept\n")
    err = capfd.readouterr().err
    assert "dropped" not in err and "kept" in err


def test_shown_path_is_never_absolute(tmp_path, monkeypatch):
    import xinpaint

    repo = Path(xinpaint.__file__).resolve().parent.parent
    assert shown_path(repo / "results" / "cpu") == "results/cpu"
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "a" / "b.json") == "a/b.json"
    elsewhere = Path("/") / "somewhere" / "deep" / "x" / "y.json"
    assert shown_path(elsewhere) == "x/y.json"
