"""The demo replaces only its own folder: a mistyped --folder must not delete anything."""

from pathlib import Path

import pytest

from adapters.demo.state import NotADemoFolder, remove_previous


def test_a_folder_that_holds_no_demo_is_refused_and_kept(tmp_path: Path) -> None:
    precious = tmp_path / "thesis.tex"
    precious.write_text("years of work")
    with pytest.raises(NotADemoFolder, match="holds no demo"):
        remove_previous(tmp_path)
    assert precious.read_text() == "years of work"
