"""Every link in README.md and docs/ leads somewhere inside a fresh clone.

A link is a relative path to a file the repository tracks, optionally with a
``#anchor`` that must name a heading of that file (or of the page itself, for a
bare ``#anchor``). Addresses outside the repository (``http://``, ``https://``,
``mailto:``...) are refused, as links and as bare addresses in the prose: the
documentation must read the same offline and must not send readers to pages
that can change under it. Code spans and fenced blocks are not prose; addresses
in them (``http://localhost:8000/docs``) are examples, not links.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>")
_BARE_ADDRESS = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+|\bmailto:\S+")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:id|name)=\"([^\"]+)\"")


@dataclass(frozen=True)
class Link:
    source: Path
    line: int
    target: str


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of every line outside fenced blocks, code spans removed."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1) == fence:
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        lines.append((number, _CODE_SPAN.sub("", line)))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: the text, lower-cased, without
    punctuation, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file defines: its headings (with GitHub's -1, -2
    suffixes for repeats) and explicit ``<a id=...>`` tags."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        found.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[Link]:
    found: list[Link] = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        targets = _INLINE_LINK.findall(line) + _AUTOLINK.findall(line)
        reference = _REFERENCE.match(line)
        if reference:
            targets.append(reference.group(1))
        found += [Link(path, number, target) for target in targets]
    return found


def outside_addresses(path: Path) -> list[str]:
    """Bare addresses in the prose, which renderers turn into links by themselves."""
    return [
        f"{path.name}:{number}: {address}"
        for number, line in prose_lines(path.read_text(encoding="utf-8"))
        for address in _BARE_ADDRESS.findall(_INLINE_LINK.sub("", _AUTOLINK.sub("", line)))
    ]


def tracked_files(root: Path) -> set[Path]:
    """What a fresh clone holds: the files git tracks (all files when not a checkout)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {p.resolve() for p in root.rglob("*") if p.is_file()}
    return {(root / name).resolve() for name in listing.decode().split("\0") if name}


def problem(link: Link, root: Path, tracked: set[Path]) -> str | None:
    """Why ``link`` does not resolve inside the repository, or None when it does."""
    where = f"{link.source.relative_to(root)}:{link.line}: {link.target!r}"
    if not link.target:
        return f"{where} is empty"
    if _SCHEME.match(link.target) or link.target.startswith("//"):
        return f"{where} leads outside the repository"
    path_part, _, anchor = link.target.partition("#")
    target = (link.source.parent / path_part).resolve() if path_part else link.source
    if not target.is_relative_to(root):
        return f"{where} leads outside the repository"
    is_dir = any(t.is_relative_to(target) and t != target for t in tracked)
    if target not in tracked and not is_dir:
        return f"{where}: {target.relative_to(root)} is not a file of the repository"
    if anchor and target.suffix == ".md" and anchor not in anchors(target):
        return f"{where}: no heading of {target.relative_to(root)} has the anchor #{anchor}"
    return None


def documentation(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def check(root: Path) -> tuple[int, list[str]]:
    """(links checked, problems found) in the documentation under ``root``."""
    root = root.resolve()
    tracked = tracked_files(root)
    checked, problems = 0, []
    for page in documentation(root):
        for link in links(page):
            checked += 1
            if (reason := problem(link, root, tracked)) is not None:
                problems.append(reason)
        problems += outside_addresses(page)
    return checked, problems


def test_every_link_in_readme_and_docs_resolves_inside_the_repository() -> None:
    checked, problems = check(REPO_ROOT)
    assert problems == []
    assert checked > 20, "the link scan found almost nothing: is it reading the pages?"


def test_readme_links_every_page_of_docs() -> None:
    linked = {
        (REPO_ROOT / link.target.partition("#")[0]).resolve()
        for link in links(REPO_ROOT / "README.md")
        if not _SCHEME.match(link.target)
    }
    pages = {page.resolve() for page in documentation(REPO_ROOT)[1:]}
    assert sorted(p.name for p in pages - linked) == []


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Page A\n\n## Two words, one comma\n\n## Jobs\n")
    return tmp_path


def _problems_of(clone: Path, readme: str) -> list[str]:
    (clone / "README.md").write_text(readme)
    return check(clone)[1]


def test_the_checker_accepts_files_headings_and_code_examples(clone: Path) -> None:
    readme = (
        "# Top\n\nSee [a](docs/a.md), [its part](docs/a.md#two-words-one-comma), "
        "[here](#top), [the folder](docs/).\n\n"
        "Examples are not links: `http://localhost:8000/docs`.\n\n"
        "```\ncurl https://example.org\n```\n"
    )
    assert _problems_of(clone, readme) == []


@pytest.mark.parametrize(
    ("readme", "complaint"),
    [
        ("[gone](docs/b.md)\n", "is not a file of the repository"),
        ("[bad part](docs/a.md#nothing-here)\n", "has the anchor #nothing-here"),
        ("# Top\n[bad here](#elsewhere)\n", "has the anchor #elsewhere"),
        ("[up](../shared/API.md)\n", "leads outside the repository"),
        ("[web](https://example.org/page)\n", "leads outside the repository"),
        ("<https://example.org>\n", "leads outside the repository"),
        ("[mail](mailto:someone@example.org)\n", "leads outside the repository"),
        ("see https://example.org for more\n", "https://example.org"),
    ],
)
def test_the_checker_reports_broken_and_outside_links(
    clone: Path, readme: str, complaint: str
) -> None:
    problems = _problems_of(clone, readme)
    assert len(problems) == 1 and complaint in problems[0], problems
