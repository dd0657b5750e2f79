"""Every link in README.md and the docs pages points to something a clone has: a file or folder
of the repository (relative to the page), and, for ``page.md#anchor`` or ``#anchor``, a heading
of that page.  Web addresses are not fetched (the tests run offline); the README has none to a
site that is not part of the repository.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# [text](target "title"), ![alt](target), <a href="target">, <img src="target">, [label]: target
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*\b(?:href|src)=\"([^\"]+)\"")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).+?\1")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
EXPLICIT_ID = re.compile(r"\{[^}]*#([\w-]+)[^}]*\}\s*$")


def unfenced_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, with inline code spans removed."""
    return [CODE_SPAN.sub("", line) for line in unfenced_lines(text)]


def links_of(page: Path) -> list[str]:
    text = "\n".join(prose_lines(page.read_text(encoding="utf-8")))
    return LINK.findall(text) + HTML_LINK.findall(text) + REFERENCE.findall(text)


def heading_text(raw: str) -> str:
    """A heading as rendered: code spans, emphasis and links reduced to their text."""
    raw = EXPLICIT_ID.sub("", raw)
    raw = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    return re.sub(r"[`*_]{1,3}(?=\S)|(?<=\S)[`*_]{1,3}", "", raw).strip()


def slugs(heading: str) -> set[str]:
    """The anchors a heading gets: Python-Markdown's toc (mkdocs) and GitHub's."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    mkdocs = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())
    github = re.sub(r" ", "-", re.sub(r"[^\w\- ]", "", heading.strip().lower()))
    return {mkdocs, github}


def anchors_of(page: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in unfenced_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            explicit = EXPLICIT_ID.search(match.group(1))
            if explicit:
                anchors.add(explicit.group(1))
            for slug in slugs(heading_text(match.group(1))):
                n = seen.get(slug, 0)
                seen[slug] = n + 1
                anchors.add(slug if n == 0 else f"{slug}_{n}")    # mkdocs' repeats: slug_1 ...
                anchors.add(slug if n == 0 else f"{slug}-{n}")    # GitHub's: slug-1 ...
    anchors.update(re.findall(r"<a\b[^>]*\b(?:id|name)=\"([^\"]+)\"", page.read_text(encoding="utf-8")))
    return anchors


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links_of(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):    # http:, https:, mailto:: not fetched
            continue
        path_part, _, anchor = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{target}: an absolute path (make it relative to {page.name})")
            continue
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            problems.append(f"{target}: {path_part} is not in the repository")
        elif ROOT not in resolved.parents and resolved != ROOT:
            problems.append(f"{target}: outside the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved):
            problems.append(f"{target}: {resolved.name} has no heading with anchor #{anchor}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_points_into_the_repository(page):
    problems = broken_links(page)
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_checker_finds_broken_links_and_anchors(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# Other page\n\n## The `fit` loop: step by step\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](other.md) [ok](other.md#the-fit-loop-step-by-step) [ok](#title)\n"
                    "[gone](missing.md) [bad](other.md#nowhere) [abs](/etc/passwd) [web](https://example.org)\n"
                    "```\n[in code](ignored.md)\n```\n`[span](ignored.md)`\n", encoding="utf-8")
    assert broken_links(page) == ["missing.md: missing.md is not in the repository",
                                  "other.md#nowhere: other.md has no heading with anchor #nowhere",
                                  "/etc/passwd: an absolute path (make it relative to page.md)"]


def test_readme_links_only_what_a_clone_has():
    """The README's links are all to the repository's own files (no hosted docs site)."""
    targets = links_of(ROOT / "README.md")
    web = [t for t in targets if re.match(r"^https?:", t)]
    assert not web, f"README.md links to web pages a clone does not have: {web}"
