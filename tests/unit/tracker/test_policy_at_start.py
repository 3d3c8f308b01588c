"""The tracker refuses, at start, an SLA policy with working days while an agency of its
directory that may be asked to act has no jurisdiction: one line, before anything runs."""

from pathlib import Path

import pytest

from broker.app.tracker import load_policy
from broker.tracker.config import TrackerSettings
from broker.tracker.errors import PolicyError
from broker.tracker.working_days import WorkingDays
from tests.memory_federation import memory_federation

SLA_TOML = Path(__file__).resolve().parents[3] / "deploy" / "tracker" / "sla.toml"
WORKING = SLA_TOML.read_text().replace('response = "5d"', 'response = "5wd"')
DENMARK = '\n[jurisdictions.dk]\ncountry = "DK"\ntime_zone = "Europe/Copenhagen"\n'


def settings(tmp_path: Path, text: str) -> TrackerSettings:
    policy = tmp_path / "sla.toml"
    policy.write_text(text)
    return TrackerSettings.model_construct(sla_policy=policy)


def test_working_days_without_a_jurisdiction_for_an_agency_refuse_to_start(
    tmp_path: Path,
) -> None:
    fed = memory_federation(["social-north", "hospital-east"])
    mapped = WORKING + DENMARK + '\n[agencies]\nsocial-north = "dk"\n'
    with pytest.raises(PolicyError, match=r"^agency 'hospital-east' has no jurisdiction") as e:
        load_policy(settings(tmp_path, mapped), fed.trusted)
    assert "\n" not in str(e.value)
    everyone = WORKING + DENMARK + '\n[agencies]\n"*" = "dk"\n'
    policy = load_policy(settings(tmp_path, everyone), fed.trusted)
    assert policy.transfer.response == WorkingDays(5)


def test_clock_durations_need_no_jurisdiction(tmp_path: Path) -> None:
    fed = memory_federation(["social-north", "hospital-east"])
    load_policy(settings(tmp_path, SLA_TOML.read_text()), fed.trusted)
