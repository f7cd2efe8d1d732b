"""The tiny temporary book every harness test builds on."""

import pytest

from tests.harness.helpers import WRITE_RESULT, chapter_md


@pytest.fixture
def tiny_book(tmp_path):
    root = tmp_path / "book-root"
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: Chapters\n    chapters:\n"
        "      - file: book/good\n      - file: book/bad\n      - file: book/status\n"
    )
    (root / "_config.yml").write_text(
        "title: tiny\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: 'off'\n"
        "exclude_patterns: ['sources/*', 'notebooks/*']\n"
    )
    (root / "book" / "intro.md").write_text("# Tiny book\n\nA page with no code.\n\n```bash\nls\n```\n")
    (root / "book" / "status.md").write_text("# Status\n\nGenerated.\n")
    (root / "book" / "good.md").write_text(
        chapter_md("good", WRITE_RESULT.format(name="good", version=1))
    )
    (root / "book" / "bad.md").write_text(
        chapter_md("bad", WRITE_RESULT.format(name="bad", version=1))
    )
    return root
