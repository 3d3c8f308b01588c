"""`caselink schemas asyncapi` writes the checked-in document; the CLI starts without FastStream."""

import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import caselink, ok

CHECKED_IN = Path(__file__).parents[2] / "docs" / "asyncapi.json"


def test_asyncapi_out_writes_the_checked_in_document(tmp_path: Path) -> None:
    out = tmp_path / "new" / "asyncapi.json"
    result = caselink("schemas", "asyncapi", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text() == CHECKED_IN.read_text()


def test_asyncapi_without_out_prints_the_document() -> None:
    assert ok("schemas", "asyncapi") == CHECKED_IN.read_text()


def test_the_command_line_starts_without_faststream() -> None:
    # FastStream is for the asyncapi verb alone; every other verb must not pay its import.
    probe = "import sys, broker.cli.app; print('faststream' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
