"""The project's documents: the README leads to every one of them, and none leads outside."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A Markdown link target or a path in backticks that climbs above the file it sits in.
OUTSIDE = re.compile(r"\]\((\.\./[^)]*)\)|`(\.\./[^`]*)`")


def tracked_markdown() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed]


def test_the_readme_names_every_document_in_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [p.name for p in sorted((ROOT / "docs").iterdir()) if f"docs/{p.name}" not in readme]
    assert missing == []


def test_no_document_points_outside_the_repository() -> None:
    escaping = []
    for document in tracked_markdown():
        for match in OUTSIDE.finditer(document.read_text()):
            target = (document.parent / (match.group(1) or match.group(2))).resolve()
            if not target.is_relative_to(ROOT):
                escaping.append(f"{document.relative_to(ROOT)}: {target}")
    assert escaping == []
