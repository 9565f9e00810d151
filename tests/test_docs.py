"""The repository stands alone: what its files cite, it holds.

* No tracked file of the docs, packages or tests refers to documents kept outside the
  repository (the product specification and stack notes the project started from).
* Every relative Markdown link in README.md, DECISIONLOG.md and docs/*.md names a file of the
  repository, without an anchor (anchors are not checked, so they would break silently).
* Every ``docs/design.md §<n>`` citation names a section heading of docs/design.md.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design.md"

#: Where no reference may leave the repository.
SELF_CONTAINED = (
    "README.md",
    "docs",
    "ingest",
    "dagster_project",
    "dbt_project",
    "dashboards",
    "erp",
    "serving",
    "tests",
)
#: How references to the documents outside the repository were spelled.
OUTSIDE_REFERENCES = re.compile(r"shared/|STACK-NOTES|DESIGN §|DESIGN\.md")

#: Inline links `[text](target "title")` and reference definitions `[label]: target`.
INLINE_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")

SECTION = r"§\d+(?:\.\d+)?"
#: `docs/design.md §4`, `docs/design.md §3, §6` (a list cites each).
DESIGN_CITATION = re.compile(rf"docs/design\.md ({SECTION}(?:,\s*{SECTION})*)")
DESIGN_HEADING = re.compile(r"^(?:## (\d+)\.|### (\d+\.\d+)) ", re.MULTILINE)


def tracked_files(*paths: str) -> list[Path]:
    """Files git tracks under ``paths`` (the whole repository without paths) that exist."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = [ROOT / name for name in listed.split("\0") if name]
    return [path for path in files if path.is_file()]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def markdown_links(text: str) -> list[str]:
    """Link targets of a Markdown text, code blocks left out."""
    prose = FENCED_BLOCK.sub("", text)
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def design_sections() -> set[str]:
    """Section numbers of docs/design.md: `4` for `## 4. Metrics`, `6.1` for `### 6.1 ...`."""
    return {top or sub for top, sub in DESIGN_HEADING.findall(DESIGN.read_text(encoding="utf-8"))}


def design_citations() -> list[tuple[str, int, str]]:
    """Every section cited as ``docs/design.md §n`` in the repository: (file, line, n)."""
    cited = []
    for path in tracked_files():
        text = read_text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for sections in DESIGN_CITATION.findall(line):
                for section in re.findall(r"§(\d+(?:\.\d+)?)", sections):
                    cited.append((str(path.relative_to(ROOT)), number, section))
    return cited


def test_no_file_refers_outside_the_repository() -> None:
    this_file = Path(__file__).resolve()  # it spells the patterns it looks for
    files = [path for path in tracked_files(*SELF_CONTAINED) if path.resolve() != this_file]
    assert len(files) > 100, "git ls-files found too few files: is this a checkout?"
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        if (text := read_text(path)) is not None
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE_REFERENCES.search(line)
    ]
    assert not found, "references outside the repository:\n" + "\n".join(found)


def markdown_documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "DECISIONLOG.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", markdown_documents(), ids=lambda p: p.name)
def test_relative_links_name_files_of_the_repository(document: Path) -> None:
    broken = []
    for target in markdown_links(document.read_text(encoding="utf-8")):
        if URL_SCHEME.match(target):
            continue  # an address on the web, not a file of the repository
        if "#" in target:
            broken.append(f"{target}: anchors are not checked; link the file")
            continue
        resolved = (document.parent / target).resolve()
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
    assert not broken, f"{document.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_design_keeps_its_section_numbers() -> None:
    """Code cites docs/design.md by number: §1 to §8 stay where they are."""
    top_level = [n for n in design_sections() if "." not in n]
    assert sorted(top_level, key=int) == [str(n) for n in range(1, 9)]


def test_every_design_citation_names_a_section() -> None:
    citations = design_citations()
    assert len(citations) > 50, "the citation pattern no longer finds the code's citations"
    sections = design_sections()
    unknown = [f"{file}:{line}: §{n}" for file, line, n in citations if n not in sections]
    assert not unknown, "docs/design.md has no such section:\n" + "\n".join(unknown)
