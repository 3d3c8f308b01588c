"""Synthetic Primero requests, for the benchmark, the demo and tests (obviously invented)."""

from typing import Any


def sample_case(*, risk_level: str = "high", consent: bool = True) -> dict[str, Any]:
    """A `POST /api/v2/cases` body: one child, as OpenFn's createCase would send it."""
    return {
        "data": {
            "name_first": "Test",
            "name_last": "Child",
            "sex": "female",
            "date_of_birth": "2015-06-01",
            "module_id": "primeromodule-cp",
            "risk_level": risk_level,
            "protection_concerns": ["neglected", "out_of_school"],
            "consent_for_services": consent,
            "disclosure_other_orgs": consent,
            "consent_source": "parent",
            "consent_source_name": "Test Parent",
        }
    }


def sample_referral(
    case_ids: list[str], recipient: str, *, service: str = "psychosocial_service"
) -> dict[str, Any]:
    """A bulk `POST /api/v2/cases/referrals` body, as OpenFn's createReferrals sends it."""
    return {
        "data": {
            "ids": case_ids,
            "transitioned_to": recipient,
            "service": service,
            "notes": "SYNTHETIC EXAMPLE. Family needs support after a move; school absence.",
        }
    }


def sample_transfer(recipient: str) -> dict[str, Any]:
    """A `POST /api/v2/cases/:id/transfers` body: the family moved to `recipient`'s area."""
    return {
        "data": {
            "transitioned_to_agency": recipient,
            "notes": "SYNTHETIC EXAMPLE. The family moved to the receiving municipality.",
            "transfer_reason": "family_moved",
        }
    }
