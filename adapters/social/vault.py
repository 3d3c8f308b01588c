"""The cases this agency creates through `POST /api/v2/cases`, kept sealed (I/O: a folder).

Where: a case created here is this agency's own record, not a message, so it is not in
the gateway's inbox or outbox; it is sealed the way the inbox is, to this agency's own
HPKE key (the X25519 suite's key in the gateway's key file, apart from any case folder),
with the case id bound in as HPKE `info`, padded like a body, and only the sealed bytes
are kept: in memory, and with `cases_folder` set, one 0600 file per case, replaced in one
step, read back at start. A case is opened when a request needs it and never stored open.
The record holds the child's fields, the referrals and transfers sent from the case
(their ids, recipient, service and notes) and the consents recorded from its flags (id,
recipient, purpose); the statuses come from the gateway's sent view, the consents' state
from its register.
"""

from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from pydantic import BaseModel, ConfigDict, Field

from adapters.social.cases import CaseFields
from broker.envelope import AgencyKeys
from broker.envelope.suites import SUITES, pad, unpad
from broker.errors import CaselinkError
from broker.keystore import replace_private
from schemas.kinds import Suite

SUITE = Suite.X25519  # the fast suite: this agency seals to itself; no one else opens it
_INFO = b"caselink/primero-case/v1:"
_SUFFIX = ".case"
MAX_TRANSITIONS = 100


class CaseUnreadable(CaselinkError):
    """A sealed case does not open with this agency's keys (key dropped, file damaged)."""

    reason = "case_unreadable"


class SentTransition(BaseModel):
    """A referral or transfer sent from a case: ids and what Primero shows of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # the message id of the referral or transfer
    thread_id: str
    kind: str
    recipient: str
    service: str | None = None
    notes: str | None = None
    consent_overridden: bool = False
    created_at: float
    by: str


class CaseConsent(BaseModel):
    """A consent recorded from the case's flags, by the recipient and purpose it covers:
    later sends from the case to them cite it again instead of recording another."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    recipient: str
    purpose: str


class CaseRecord(BaseModel):
    """One case as sealed: its fields, who created it and when, what was sent from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    fields: CaseFields
    created_at: float
    created_by: str
    transitions: list[SentTransition] = Field(default_factory=list, max_length=MAX_TRANSITIONS)
    consents: list[CaseConsent] = Field(default_factory=list, max_length=MAX_TRANSITIONS)

    def consent_for(self, recipient: str, purpose: str) -> str | None:
        """The id of the consent recorded from this case for `recipient` and `purpose`."""
        for consent in self.consents:
            if (consent.recipient, consent.purpose) == (recipient, purpose):
                return consent.consent_id
        return None


@dataclass(frozen=True)
class _Sealed:
    kid: str
    ciphertext: bytes


class CaseVault:
    """Sealed case records by id; `folder` (or None: memory only) keeps them across restarts."""

    def __init__(self, keys: AgencyKeys, folder: Path | None) -> None:
        self._keys = keys
        self._folder = folder
        self._sealed: dict[str, _Sealed] = {}

    def load(self) -> int:
        """Read the sealed cases of the folder (not opened); returns how many."""
        if self._folder is None:
            return 0
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in sorted(self._folder.glob(f"*{_SUFFIX}")):
            kid, _, ciphertext = path.read_bytes().partition(b"\n")
            self._sealed[path.name.removesuffix(_SUFFIX)] = _Sealed(kid.decode("ascii"), ciphertext)
        return len(self._sealed)

    def __contains__(self, case_id: str) -> bool:
        return case_id in self._sealed

    def __len__(self) -> int:
        return len(self._sealed)

    def ids(self) -> list[str]:
        return list(self._sealed)

    def put(self, record: CaseRecord) -> None:
        """Seal `record` and keep it (replacing the case's earlier version)."""
        key = self._keys.encryption[SUITE]
        public = key.private.public_key()
        plain = pad(record.model_dump_json().encode())
        ciphertext = SUITES[SUITE].hpke.encrypt(plain, public, info=_INFO + record.id.encode())
        sealed = _Sealed(key.kid, ciphertext)
        if self._folder is not None:
            content = sealed.kid.encode("ascii") + b"\n" + ciphertext
            replace_private(self._folder / f"{record.id}{_SUFFIX}", content)
        self._sealed[record.id] = sealed

    def get(self, case_id: str) -> CaseRecord | None:
        """The case opened now, or None; raises CaseUnreadable when it does not open."""
        sealed = self._sealed.get(case_id)
        if sealed is None:
            return None
        key = self._keys.decryption_key(sealed.kid)
        if key is None:
            raise CaseUnreadable("the key this case was sealed to is not in the key file")
        try:
            plain = SUITES[SUITE].hpke.decrypt(
                sealed.ciphertext, key.private, info=_INFO + case_id.encode()
            )
            return CaseRecord.model_validate_json(unpad(plain))
        except (InvalidTag, ValueError, CaselinkError) as error:
            raise CaseUnreadable("a sealed case does not open") from error
