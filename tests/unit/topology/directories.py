"""Hand-built directories for pure tests: the keys are well-formed, not real key pairs."""

import hashlib

from schemas.directory import Agency, Directory, PublicKey
from schemas.kinds import AgencyKind, KeyAlgorithm, KeyUse

AGENCY_IDS = ["oscc-north", "social-east", "police-west"]
NOW = 1_767_225_600


def _key(agency_id: str) -> PublicKey:
    # Content only has to satisfy the schema; topology never looks at key material.
    return PublicKey(
        kid=hashlib.sha256(agency_id.encode()).hexdigest(),
        use=KeyUse.SIG,
        alg=KeyAlgorithm.ED25519,
        public="A" * 43,
        not_before=NOW,
        not_after=NOW + 86_400,
    )


def directory_of(agency_ids: list[str]) -> Directory:
    """A directory listing `agency_ids`, not signed: definitions take verified content."""
    agencies = [
        Agency(id=a, kind=AgencyKind.SOCIAL_SERVICES, name=f"Test {a}", keys=[_key(a)])
        for a in agency_ids
    ]
    return Directory(serial=1, issued_at=NOW, root_kid="0" * 64, agencies=agencies)
