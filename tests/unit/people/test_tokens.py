"""API tokens: 32 random bytes, stored hashed, found in constant time, malformed refused."""

import pytest

from broker.people.tokens import TokenHashError, TokenIndex, new_token, token_hash


def test_a_new_token_carries_32_random_bytes_and_a_recognisable_prefix() -> None:
    token = new_token()
    assert token.startswith("clk_")
    assert len(token) == 4 + 43
    assert token != new_token()


def test_the_index_finds_the_owner_by_hash_only() -> None:
    ana, bo = new_token(), new_token()
    index = TokenIndex([(token_hash(ana), "ana"), (token_hash(bo), "bo")])
    assert index.owner(ana) == "ana"
    assert index.owner(bo) == "bo"
    assert index.owner(new_token()) is None
    assert index.owner(token_hash(ana)) is None  # the stored form is not a credential


@pytest.mark.parametrize("presented", ["", "clk_short", "é" * 47, "clk_" + "a" * 42 + "\n"])
def test_malformed_tokens_match_nobody(presented: str) -> None:
    index = TokenIndex([(token_hash(new_token()), "ana")])
    assert index.owner(presented) is None


def test_a_malformed_stored_hash_is_refused_up_front() -> None:
    with pytest.raises(TokenHashError, match="sha256"):
        TokenIndex([("md5$abc", "ana")])
