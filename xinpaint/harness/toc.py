"""The book's table of contents: its files, its executable chapters, their sources."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ROOT", "book_chapters", "chapter_source", "toc_files"]

#: The repository: the folder holding ``_toc.yml`` and ``book/``.
ROOT = Path(__file__).resolve().parents[2]


def _read_yaml(path: Path) -> dict:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def toc_files(root: Path = ROOT) -> list[str]:
    """Every file of ``_toc.yml`` (root first), as written there (no extension)."""
    toc = _read_yaml(Path(root) / "_toc.yml")
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def _is_notebook(md_path: Path) -> bool:
    """True for a jupytext MyST notebook: front matter with a ``kernelspec``.

    A plain markdown page (the intro, the status page) is copied, not executed.
    """
    import yaml

    text = Path(md_path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    front = text.split("---", 2)[1]
    meta = yaml.safe_load(front) or {}
    return "kernelspec" in meta


def book_chapters(root: Path = ROOT) -> list[str]:
    """Names of the executable chapters of the book, in table-of-contents order."""
    names = []
    for entry in toc_files(root):
        path = Path(root) / f"{entry}.md"
        if path.exists() and _is_notebook(path):
            names.append(Path(entry).name)
    return names


def chapter_source(chapter: str, root: Path = ROOT) -> Path:
    """The ``.md`` source of ``chapter`` (its name without folder or extension)."""
    for entry in toc_files(root):
        if Path(entry).name == chapter:
            path = Path(root) / f"{entry}.md"
            if path.exists():
                return path
    known = ", ".join(book_chapters(root))
    raise ValueError(f"Unknown chapter: expected one of {known}. Received chapter={chapter!r}.")
