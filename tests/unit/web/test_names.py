"""Agencies by their directory names: from the directory in force (renewals included),
cleaned of control characters, escaped, with the id beside; ids stay in CSV and JSON."""

import csv
import io
import time

import pytest

from broker.envelope import TrustedDirectory, build_directory, verify_directory
from broker.web.names import directory_names, printable
from schemas.kinds import AgencyKind
from tests.integration.rabbit_federation import make_keys
from tests.unit.web.conftest import Client
from tests.unit.web.seed import NAMES, Scenario, shown


def test_names_follow_the_directory_in_force() -> None:
    root, keys, signed = make_keys(["hospital-east", "social-north"])
    first = verify_directory(signed, root.public())
    in_force: list[TrustedDirectory] = [first]
    names = directory_names(lambda: in_force[0])
    assert names("hospital-east") == "Test hospital-east"
    assert names("police-west") is None  # not in the directory: the page shows the id
    renamed = [
        keys["hospital-east"].public_entry(
            kind=AgencyKind.HEALTH, name="East\u202e General\n Hospital", region="test"
        ),
        keys["social-north"].public_entry(
            kind=AgencyKind.SOCIAL_SERVICES, name="North", region="test"
        ),
    ]
    in_force[0] = verify_directory(
        build_directory(renamed, root, int(time.time()), serial=2), root.public()
    )
    # The renewed directory's name, without the right-to-left override or the line break.
    assert names("hospital-east") == "East General Hospital"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [("Plain", "Plain"), ("a\tb\u0000c", "a b c"), ("\u200b\u2066", None), (" x  y ", "x y")],
)
def test_printable(raw: str, kept: str | None) -> None:
    assert printable(raw) == kept


async def test_lists_and_the_thread_page_show_names_with_ids(
    cora: Client, scenario: Scenario
) -> None:
    html = (await cora.get("/unanswered")).text
    assert shown("social-north") in html
    assert 'title="social-north">North Social Services</span>' in html
    thread = (await cora.get(f"/threads/{scenario.ids['redirected']}")).text
    assert f"<dt>From</dt><dd>{shown('school-south')}</dd>" in thread
    assert f"<td>{shown('hospital-east')}</td><td>{shown('school-south')}</td>" in thread
    # An agency the directory does not name keeps its id, without a title.
    declined = (await cora.get("/declined")).text
    assert shown("social-south") in declined
    assert 'title="social-south"' not in declined


async def test_json_and_csv_keep_ids_and_add_names(cora: Client, scenario: Scenario) -> None:
    item = (await cora.get(f"/api/v1/threads/{scenario.ids['withdrawal']}")).json()
    assert item["sender"] == "social-north"
    assert item["agency_names"] == {
        "social-north": NAMES["social-north"],
        "hospital-east": NAMES["hospital-east"],
        "police-west": NAMES["police-west"],
    }
    rows = list(
        csv.DictReader(io.StringIO((await cora.get("/export/consent-withdrawals.csv")).text))
    )
    assert rows[0]["recipients"] == "hospital-east;police-west"
    assert rows[0]["sender_name"] == NAMES["social-north"]
    assert rows[0]["recipient_names"] == f"{NAMES['hospital-east']};{NAMES['police-west']}"
    figures = {a["agency"]: a for a in (await cora.get("/api/v1/agencies")).json()}
    assert figures["hospital-east"]["agency_name"] == NAMES["hospital-east"]
    assert figures["social-south"]["agency_name"] is None
    exported = list(csv.DictReader(io.StringIO((await cora.get("/export/agencies.csv")).text)))
    assert {a["agency"]: a["agency_name"] for a in exported}["school-south"] == NAMES[
        "school-south"
    ]
