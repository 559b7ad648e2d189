"""The project's docs stand alone: nothing points at a document outside the repository, and every
`docs/<file>.md §Section` reference names a heading that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("accounts", "analytics", "bench", "billing", "config", "core", "docs", "leasing",
           "marketplace", "scripts", "tests")  # fmt: skip
TOP_LEVEL = ("README.md", "Makefile", "docker-compose.yml", "Dockerfile", "pyproject.toml")
SUFFIXES = {".py", ".md", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".html", ""}
# Documents that live outside this repository, and the section sign used to cite them.
OUTSIDE = re.compile(r"SPEC\.md|CONVENTIONS|PERF-NOTES|\bSPEC\b|shared/")
REFERENCE = re.compile(r"docs/(\w+)\.md §([A-Z][\w ]*?)(?=[),.;:]|$| —|, §)")
SECTION = re.compile(r", §([A-Z][\w ]*?)(?=[),.;:]|$| —)")


def _texts() -> list[Path]:
    files = [ROOT / name for name in TOP_LEVEL if (ROOT / name).exists()]
    for folder in SCANNED:
        files += [
            path
            for path in (ROOT / folder).rglob("*")
            if path.is_file()
            and path.suffix in SUFFIXES
            and "__pycache__" not in path.parts
            and path != Path(__file__).resolve()
        ]
    return files


def _headings(doc: str) -> set[str]:
    text = (ROOT / "docs" / f"{doc}.md").read_text()
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}


def test_nothing_points_at_a_document_outside_the_repository() -> None:
    found = []
    for path in _texts():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line.replace("SPECTACULAR", "")):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_readme_links_the_domain_rules() -> None:
    assert (ROOT / "docs" / "domain.md").exists()
    assert "docs/domain.md" in (ROOT / "README.md").read_text()


def test_every_section_reference_names_a_heading_that_exists() -> None:
    broken = []
    for path in _texts():
        for line in path.read_text(errors="replace").splitlines():
            for match in REFERENCE.finditer(line):
                doc, first = match.groups()
                headings = _headings(doc)
                rest = SECTION.findall(line[match.end() :])
                for section in [first, *rest]:
                    # the heading, its first words, or the heading and the sentence it sits in
                    if not any(
                        section == h or h.startswith(section + " ") or section.startswith(h + " ")
                        for h in headings
                    ):
                        broken.append(f"{path.relative_to(ROOT)}: docs/{doc}.md §{section}")
    assert not broken, "\n".join(broken)
