"""The documents: a short README for users, and links between the documents that lead somewhere."""
import pathlib
import re

import pytest

from tests import support

ROOT = pathlib.Path(support.REPO_ROOT)
README_MAX_LINES = 250
DOCUMENTS = sorted(
    {ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")}
)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(text: str) -> list[str]:
    """Targets of the Markdown links that are neither web addresses nor anchors in the same document."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links are not followed inside code blocks
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def anchors(path: pathlib.Path) -> set[str]:
    """The anchors GitHub gives a document's headings."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    headings = re.findall(r"^#+\s+(.*?)\s*$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(document):
    for target in relative_links(document.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve()
        assert linked.exists(), f"{document.relative_to(ROOT)}: {target} does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{document.relative_to(ROOT)}: {target}: no such heading"


def test_link_finding_sees_relative_links_only():
    text = "[a](docs/X.md) [b](https://x.org) [c](#here) ![img](pic.png) [d](../Y.md#part)\n```\n[e](no.md)\n```"
    assert relative_links(text) == ["docs/X.md", "../Y.md#part"]
