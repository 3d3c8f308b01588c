"""Closed vocabularies used in clear headers and bodies."""

from enum import StrEnum


class AgencyKind(StrEnum):
    HEALTH = "health"
    EDUCATION = "education"
    POLICE = "police"
    SOCIAL_SERVICES = "social_services"
    COORDINATOR = "coordinator"


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class MessageKind(StrEnum):
    REFERRAL = "referral"
    TRANSFER = "transfer"
    CONSENT = "consent"
    ACKNOWLEDGEMENT = "acknowledgement"
    ALERT = "alert"


class AckStatus(StrEnum):
    """Answers to a referral, transfer or consent message (FHIR Task status in comments)."""

    RECEIVED = "received"  # received (sent automatically by the recipient's gateway)
    ACCEPTED = "accepted"  # accepted
    DECLINED = "declined"  # rejected; a reason is required
    COMPLETED = "completed"  # completed; an outcome is required
    WITHDRAWN = "withdrawn"  # cancelled, by the sender
    REDIRECTED = "redirected"  # rejected with a pointer to a better-placed agency
    PLANNED = "planned"  # in-progress: accepted, and its plan recorded; a plan is required


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class LawfulBasis(StrEnum):
    """Why personal data may be shared; mirrors GDPR art. 6 plus the significant-harm ground.

    A category only: bodies that share case data carry it, and the clear header repeats it
    (`basis`) when a sharing cites no consent, so the tracker can flag it without a body.
    """

    CONSENT = "consent"
    VITAL_INTERESTS = "vital_interests"
    LEGAL_OBLIGATION = "legal_obligation"
    PUBLIC_TASK = "public_task"
    CHILD_PROTECTION_SIGNIFICANT_HARM = "child_protection_significant_harm"


class Suite(StrEnum):
    """HPKE cipher suites an envelope may use (RFC 9180 base mode)."""

    MLKEM768_X25519 = "hpke-mlkem768x25519-hkdfsha256-aes256gcm"  # default: post-quantum hybrid
    X25519 = "hpke-x25519-hkdfsha256-aes256gcm"  # fallback for peers without ML-KEM


class KeyUse(StrEnum):
    SIG = "sig"
    ENC = "enc"


class KeyAlgorithm(StrEnum):
    ED25519 = "Ed25519"
    MLKEM768_X25519 = "MLKEM768-X25519"
    X25519 = "X25519"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
