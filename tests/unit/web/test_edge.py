"""The dashboard at its edge: security headers everywhere, size caps, markup the CSP and the
browser's `v`-flag pattern syntax accept."""

import html
import re
import shutil
import subprocess

import pytest

from broker.http_edge import CONTENT_SECURITY_POLICY, HSTS, MAX_COOKIE_BYTES
from broker.look import Reader
from broker.web.app import MAX_REQUEST_BYTES
from broker.web.names import no_names
from broker.web.queries import Filters
from broker.web.screens import Screens
from schemas.ids import AGENCY_ID_PATTERN
from tests.unit.web.conftest import Client

PAGES = ("/unanswered", "/overdue", "/agencies", "/login")
ANSWERS = (
    *PAGES,
    "/fragments/unanswered",
    "/api/v1/unanswered",
    "/export/unanswered.csv",
    "/static/app.css",
    "/static/live.js",
    "/static/icon.svg",
    "/metrics",
    "/healthz",
    "/no-such-page",
    "/unanswered?kind=letter",
)
NODE = shutil.which("node")


@pytest.mark.parametrize("path", ANSWERS)
async def test_every_answer_carries_the_security_headers(cora: Client, path: str) -> None:
    response = await cora.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["strict-transport-security"] == HSTS  # https://


@pytest.mark.parametrize("path", PAGES)
async def test_pages_hold_no_inline_script_style_or_handler(cora: Client, path: str) -> None:
    page = (await cora.get(path)).text
    assert "<style" not in page
    assert " style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"
    assert "javascript:" not in page


async def test_an_oversized_cookie_is_431_before_the_session_is_read(anonymous: Client) -> None:
    crafted = 'caselink_session="' + "\\" * MAX_COOKIE_BYTES + '"'
    response = await anonymous.get("/unanswered", headers={"Cookie": crafted})
    assert response.status_code == 431
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_an_oversized_sign_in_body_is_413(anonymous: Client) -> None:
    form = {"name": "cora", "password": "x" * MAX_REQUEST_BYTES}
    response = await anonymous.post("/login", data=form)
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body exceeds {MAX_REQUEST_BYTES} bytes"}


def agency_pattern() -> str:
    template = Screens(no_names).look.environment("en").get_template("parts.html")
    form = template.make_module({"fmt": Reader().formats}).filter_form("/unanswered", Filters())
    (pattern,) = re.findall(r'\spattern="([^"]*)"', str(form))
    return html.unescape(pattern)


def test_the_agency_pattern_says_what_the_schema_says() -> None:
    pattern = agency_pattern()
    samples = ["hospital-east", "ab", "abc", "a-", "-ab", "Hospital", "a" * 32, "a" * 33, "ab-c"]
    for sample in samples:
        assert bool(re.fullmatch(pattern, sample)) == bool(re.match(AGENCY_ID_PATTERN, sample))


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_agency_pattern_compiles_with_the_v_flag() -> None:
    # Browsers compile `pattern` with the `v` flag, where a bare `-` in a class is an error.
    # (The browser test sees Chromium's console say so; node's V8 is the same engine.)
    assert NODE is not None
    script = "new RegExp(process.argv[1], 'v')"
    result = subprocess.run(
        [NODE, "-e", script, agency_pattern()],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
