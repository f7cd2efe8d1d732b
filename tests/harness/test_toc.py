"""The table of contents of a tiny temporary book: its chapters, in order."""


import pytest

from xinpaint import harness


def test_book_chapters_are_the_notebooks_in_toc_order(tiny_book):
    assert harness.book_chapters(tiny_book) == ["good", "bad"]
    assert harness.toc_files(tiny_book) == ["book/intro", "book/good", "book/bad", "book/status"]


def test_unknown_chapter_names_the_value(tiny_book):
    with pytest.raises(ValueError, match=r"Received chapter='nope'"):
        harness.chapter_source("nope", tiny_book)
