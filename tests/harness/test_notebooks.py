"""What a recorded notebook gets: durations, the parameters run, no native logs nor paths."""

import json

import nbformat
import pytest

from tests.harness.helpers import check_clean, recorded_like
from xinpaint import harness


@pytest.mark.parametrize(
    ("seconds", "text"), [(9.4, "9 s"), (75, "1 min 15 s"), (3723.2, "1 h 02 min")]
)
def test_format_duration(seconds, text):
    assert harness.format_duration(seconds) == text


def test_clean_notebook_shows_the_profile_run_and_scrubs_paths_and_logs(tmp_path):
    nb = nbformat.read(recorded_like(tmp_path / "good.ipynb"), as_version=4)
    harness.clean_notebook(nb)
    check_clean(nb)
    again = nbformat.from_dict(json.loads(json.dumps(nb)))
    harness.clean_notebook(again)  # idempotent
    assert json.dumps(again) == json.dumps(nb)


def test_scrub_text_keeps_urls_and_system_paths():
    assert harness.scrub_text("https://doi.org/10.1007/978-3-030-01252-6_6") == (
        "https://doi.org/10.1007/978-3-030-01252-6_6")
    assert harness.scrub_text("to /dev/null") == "to /dev/null"
    assert harness.scrub_text("/work/main/xinpaint/io.py:12") == "xinpaint/io.py:12"
    assert harness.scrub_text("/tmp/pytest-of-root/pytest-3/x/out.npy") == "…/x/out.npy"
