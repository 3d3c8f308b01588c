"""A small test federation: a root, three agencies, a verified directory (test keys only)."""

from dataclasses import dataclass

from broker.envelope import (
    AgencyKeys,
    RootKey,
    TrustedDirectory,
    build_directory,
    verify_directory,
)
from schemas.kinds import AgencyKind

NOW = 1_750_000_000


@dataclass(frozen=True)
class Federation:
    root: RootKey
    police: AgencyKeys  # usual sender
    health: AgencyKeys  # usual recipient
    social: AgencyKeys  # a third agency (attacker C in tamper tests)
    raw_directory: bytes
    directory: TrustedDirectory


def make_federation(now: int = NOW) -> Federation:
    """A fresh federation; every key valid from `now` for the default two years."""
    root = RootKey.generate(now=now)
    police = AgencyKeys.generate("police-north", now=now)
    health = AgencyKeys.generate("health-east", now=now)
    social = AgencyKeys.generate("social-west", now=now)
    raw = build_directory(
        [
            police.public_entry(AgencyKind.POLICE, "Police North", "North"),
            health.public_entry(AgencyKind.HEALTH, "Health East", "East"),
            social.public_entry(AgencyKind.SOCIAL_SERVICES, "Social West", "West"),
        ],
        root,
        now,
    )
    return Federation(root, police, health, social, raw, verify_directory(raw, root.public()))
