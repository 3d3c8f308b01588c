"""RabbitMQ's topic matching, as the in-memory broker routes."""

import pytest

from broker.testing.topic import topic_matches


@pytest.mark.parametrize(
    ("binding", "key", "matches"),
    [
        ("*.*.social-east", "referral.oscc-north.social-east", True),
        ("*.*.social-east", "referral.oscc-north.police-west", False),
        ("*.*.social-east", "referral.social-east", False),
        ("*", "", True),  # an empty key is one empty word
        ("*", "a.b", False),
        ("#", "", True),
        ("#", "a.b.c", True),
        ("alert.#", "alert", True),  # zero words
        ("alert.#", "alert.reminder.oscc-north", True),
        ("alert.#", "alerts.reminder", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
        ("#.z", "z", True),
        ("a.*.#", "a", False),
        ("a.*.#", "a.b", True),
        ("a.b", "a.b", True),
        ("a.b", "a.b.c", False),
    ],
)
def test_words_stars_and_hashes_match_as_in_rabbitmq(binding: str, key: str, matches: bool) -> None:
    assert topic_matches(binding, key) is matches
