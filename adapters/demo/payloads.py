"""What the agencies' own systems send in the scenario, in their native forms: synthetic,
obviously invented, and written here as those systems would write them. The demo plays
the agencies' systems from outside, over HTTP and files, so it builds their requests
itself rather than borrowing the adapters' code.
"""

from typing import Any


def primero_case() -> dict[str, Any]:
    """`POST /api/v2/cases`: a child whose family is about to move, consent given."""
    return {
        "data": {
            "name_first": "Demo",
            "name_last": "Child",
            "sex": "male",
            "date_of_birth": "2016-03-14",
            "module_id": "primeromodule-cp",
            "risk_level": "medium",
            "protection_concerns": ["neglected"],
            "consent_for_services": True,
            "disclosure_other_orgs": True,
            "consent_source": "mother",
            "consent_source_name": "Demo Parent",
        }
    }


def primero_transfer(recipient: str) -> dict[str, Any]:
    """`POST /api/v2/cases/:id/transfers`: the family moved to `recipient`'s municipality."""
    return {
        "data": {
            "transitioned_to_agency": recipient,
            "notes": "SYNTHETIC DEMO. The family moved to the receiving municipality.",
            "transfer_reason": "family_moved",
        }
    }
