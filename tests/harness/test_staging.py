"""Staging executed notebooks and building the book: recordings, cleaning, the status page."""

import json

import nbformat
import pytest

from tests.harness.helpers import check_clean, fake_notebook, recorded_like
from xinpaint import harness


def test_find_recording_prefers_the_largest_profile(tmp_path):
    results = tmp_path / "results"
    assert harness.find_recording("good", results) is None
    fake_notebook(results / "smoke" / "good.ipynb", "good", "smoke")
    assert harness.find_recording("good", results).parent.name == "smoke"
    fake_notebook(results / "cpu" / "good.ipynb", "good", "cpu")
    assert harness.find_recording("good", results).parent.name == "cpu"


def test_stage_has_no_md_and_ipynb_of_one_name(tiny_book, tmp_path):
    notebooks = {
        "good": fake_notebook(tmp_path / "nb" / "good.ipynb", "good", "cpu"),
        "bad": fake_notebook(tmp_path / "nb" / "bad.ipynb", "bad", "smoke"),
    }
    stage = harness.stage_book(notebooks, tmp_path / "stage", root=tiny_book)
    pages = sorted(p.name for p in (stage / "book").iterdir())
    assert pages == ["bad.ipynb", "good.ipynb", "intro.md", "status.md"]
    assert (stage / "sources" / "good.md").exists() and (stage / "notebooks" / "bad.ipynb").exists()
    status = (stage / "book" / "status.md").read_text()
    assert f"| [good](chapter-good) | cpu | {harness.EARLIER_DATA} | 1 min 15 s | CPU X |" in status
    assert "| [bad](chapter-bad) | smoke |" in status


@pytest.mark.slow
def test_tiny_book_builds_strictly(tiny_book, tmp_path):
    out = tmp_path / "out"
    harness.execute_all(["good", "bad"], "smoke", out / "nb", root=tiny_book)
    notebooks = {c: out / "nb" / f"{c}.ipynb" for c in ("good", "bad")}
    stage = harness.stage_book(notebooks, out / "stage", root=tiny_book)
    html = harness.build_book(stage, out)
    page = (html / "book" / "good.html").read_text()
    assert "profile: smoke" in page
    assert "injected-parameters" not in page
    assert (html / "index.html").exists()


def test_stage_cleans_notebooks_recorded_before_the_rules(tiny_book, tmp_path):
    notebooks = {"good": recorded_like(tmp_path / "nb" / "good.ipynb"),
                 "bad": fake_notebook(tmp_path / "nb" / "bad.ipynb", "bad", "smoke")}
    stage = harness.stage_book(notebooks, tmp_path / "stage", root=tiny_book)
    for path in (stage / "book" / "good.ipynb", stage / "notebooks" / "good.ipynb"):
        check_clean(nbformat.read(path, as_version=4))


def test_recorded_book_pages_are_clean_once_staged():
    """The recorded notebooks, as staged: the profile they ran with, no paths, no TF noise."""
    recorded = sorted((harness.ROOT / "results").glob("*/*.ipynb"))
    if not recorded:
        pytest.skip("no recorded notebook in results/")
    for path in recorded:
        nb = nbformat.read(path, as_version=4)
        harness.clean_notebook(nb)
        text = json.dumps(nb)
        for root in ("/work/", "/root/", "/home/"):
            assert root not in text, (path.name, root)
        assert "InitializeLog" not in text and "cudart_stub" not in text, path.name
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert params.source.splitlines()[-1] == f'profile = "{path.parent.name}"', path.name


def test_status_page_says_which_data_each_recording_used(tmp_path):
    old = fake_notebook(tmp_path / "old.ipynb", "old", "cpu")  # recorded before the field existed
    new = fake_notebook(tmp_path / "new.ipynb", "new", "cpu")
    nb = nbformat.read(new, as_version=4)
    nb.metadata["xinpaint"]["data"] = harness.DATA_DESCRIPTION
    nbformat.write(nb, new)
    page = harness.status_markdown({"old": old, "new": new})
    old_row = next(line for line in page.splitlines() if line.startswith("| [old]"))
    new_row = next(line for line in page.splitlines() if line.startswith("| [new]"))
    assert harness.EARLIER_DATA in old_row and harness.DATA_DESCRIPTION in new_row
    assert "| data |" in page
