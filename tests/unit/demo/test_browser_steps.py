"""The demo's browser steps without a browser: one clear line, nothing sent."""

from pathlib import Path
from typing import Any, cast

import pytest

from adapters.demo import browser, scenario
from adapters.demo.scenario import Scenario, answered_in_the_browser, dashboard_in_the_browser


def no_services() -> Scenario:
    # Anything the steps touched would fail: they must stop before using any of it.
    nothing = cast(Any, None)
    return Scenario(state=nothing, alerts=nothing, police_system=nothing, mail=nothing)


def test_chromium_missing_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "chromium")
    assert (
        browser.browser_missing()
        == f"{tmp_path / 'chromium'} is missing (make browser installs it)"
    )


@pytest.mark.parametrize("step", [answered_in_the_browser, dashboard_in_the_browser])
async def test_a_browser_step_without_chromium_fails_in_one_line_before_sending(
    monkeypatch: pytest.MonkeyPatch, step: Any
) -> None:
    line = "/usr/bin/chromium is missing (make browser installs it)"
    monkeypatch.setattr(scenario, "browser_missing", lambda: line)
    outcomes = await step(no_services())
    assert [(o.ok, o.detail) for o in outcomes] == [(False, line)]


def test_screenshots_are_asked_for_only_with_a_folder(tmp_path: Path) -> None:
    assert no_services().screenshot("inbox.png") is None
    taking = no_services()
    taking.screenshots = tmp_path
    stale = tmp_path / "inbox.png"
    stale.write_bytes(b"the previous run's")
    assert taking.screenshot("inbox.png") == stale
    assert not stale.exists()  # only a new one is reported as saved
    assert taking.asked == [stale]
