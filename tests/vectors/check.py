"""Checks shared by the vector generator and tests/unit/envelope/test_vectors.py."""

import hashlib
from dataclasses import dataclass
from typing import Any

from broker.envelope import (
    AgencyKeys,
    EnvelopeError,
    RootPublicKey,
    TrustedDirectory,
    open_envelope,
    verify_directory,
)
from broker.envelope.binding import hpke_info, signed_input
from broker.envelope.codec import decode_envelope
from broker.envelope.suites import SUITES


@dataclass(frozen=True)
class Context:
    directories: dict[str, TrustedDirectory]
    keys: dict[str, AgencyKeys]


def load_context(document: dict[str, Any]) -> Context:
    """Verify the vector file's directories against its root and load its private keys."""
    root = RootPublicKey.from_bytes(document["root_public_key"].encode("ascii"))
    directories = {
        name: verify_directory(raw.encode("ascii"), root)
        for name, raw in document["directories"].items()
    }
    keys = {
        agency: AgencyKeys.from_bytes(raw.encode("ascii"))
        for agency, raw in document["private_keys"].items()
    }
    return Context(directories, keys)


def check_case(context: Context, case: dict[str, Any]) -> None:
    """Open the case's envelope as its recipient and compare with what it expects."""
    raw = case["envelope"].encode("ascii")
    directory = context.directories[case["directory"]]
    keys = context.keys[case["recipient"]]
    if case["expect"] == "error":
        try:
            open_envelope(raw, keys=keys, directory=directory, now=case["now"])
        except EnvelopeError as err:
            reason = err.reason
        else:
            reason = "opened"
        assert reason == case["reason"], (case["name"], reason)
        return
    opened = open_envelope(raw, keys=keys, directory=directory, now=case["now"])
    # Compared as the current model reads the expected body: a field added since the vector
    # was written (optional, so absent from it) is not a difference.
    expected_body = type(opened.body).model_validate(case["body"])
    assert opened.body == expected_body, case["name"]
    expected = case["intermediate"]
    env = decode_envelope(raw)
    assert env.header_json.decode("ascii") == expected["header_json"]
    assert hpke_info(env.header_json).hex() == expected["hpke_info_hex"]
    assert env.ciphertext[: SUITES[env.header.suite].enc_len].hex() == expected["hpke_enc_hex"]
    signed = signed_input(env.header_json, env.ciphertext)
    assert len(signed) == expected["signed_input_len"]
    assert hashlib.sha256(signed).hexdigest() == expected["signed_input_sha256_hex"]
    assert env.header.commitment == expected["commitment"]
