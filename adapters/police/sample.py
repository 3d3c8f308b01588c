"""A realistic synthetic police notification, for the benchmark, the demo and the tests.

Every name, reference and place is invented.
"""

from typing import Any


def sample_notification(
    *,
    notification_id: str = "PPN-2025-004211",
    children: int = 1,
    consent: bool = False,
    risk_grade: str = "high",
    authorised_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A police notification as the police system posts it (the JSON document, as a dict).

    `children` (1 to 10) siblings at one domestic incident; `consent` chooses consent to
    share obtained from the mother or sharing without it on the significant-harm basis,
    authorised by DS Tom Okafor or by `authorised_by` (an officer, who must be a supervisor
    of the gateway that takes it: docs/adapters.md, `## police`).
    """
    officer = {
        "name": "DC Priya Shah",
        "role": "Detective Constable, Public Protection Unit",
        "collar_number": "WP4471",
        "phone": "+44 20 7946 0101",
        "email": "priya.shah@west.police.example",
    }
    kids = [
        {
            "child_ref": f"P{71200 + index}",
            "given_name": ["Maya", "Leo", "Ava", "Noah", "Isla"][index % 5],
            "family_name": "Turner",
            "dob": f"{2013 + index}-0{(index % 9) + 1}-14",
            "sex": "female" if index % 2 == 0 else "male",
            "languages": ["en"],
            "address": {
                "lines": ["14 Larch Road"],
                "locality": "Westford",
                "postal_code": "WF2 7QJ",
                "country": "GB",
            },
            "school": "Westford Primary School",
            "present": True,
            "witnessed": index == 0,
            "injured": False,
            "voice_of_child": "Said she hid in her room and was scared when the shouting started."
            if index == 0
            else None,
        }
        for index in range(children)
    ]
    sharing: dict[str, Any]
    if consent:
        sharing = {
            "obtained": True,
            "given_by_name": "Claire Turner",
            "given_by_relation": "parent",
        }
    else:
        sharing = {
            "obtained": False,
            "basis": "child_protection_significant_harm",
            "justification": "Repeat domestic abuse with the children present; informing "
            "the suspect of the referral could increase the risk to them.",
            "authorised_by": authorised_by
            or {
                "name": "DS Tom Okafor",
                "role": "Detective Sergeant, Public Protection Unit",
                "phone": "+44 20 7946 0102",
            },
        }
    return {
        "schema_version": "1",
        "notification_id": notification_id,
        "police_reference": "WP/25/018344",
        "force": "West Police",
        "notification_type": "referral",
        "officer": officer,
        "incident": {
            "occurred_at": "2025-03-08T22:40:00+00:00",
            "location": "Home address",
            "type": "domestic_abuse",
            "circumstances": "Police attended following a call from a neighbour reporting "
            "shouting and breaking glass. The mother had a visible injury to her arm; the "
            "father had left before officers arrived. Third incident at the address in "
            "three months.",
        },
        "children": [{k: v for k, v in kid.items() if v is not None} for kid in kids],
        "adults": [
            {
                "name": "Claire Turner",
                "relationship": "mother",
                "parental_responsibility": True,
                "phone": "+44 7700 900123",
            },
            {
                "name": "Daniel Turner",
                "dob": "1986-11-02",
                "relationship": "father",
                "parental_responsibility": True,
            },
        ],
        "risk_grade": risk_grade,
        "consent_to_share": sharing,
    }
