"""One vocabulary: every value the dashboard and the inbox pages show has one word, the same
in both apps."""

from enum import StrEnum

import pytest

from broker.inbox.labels import value_label
from broker.lifecycle.stages import FhirTaskStatus
from broker.look.vocabulary import WORDS
from broker.tracker.state import Phase
from broker.web.labels import label
from broker.web.queries import ThreadKind
from schemas.kinds import AckStatus, ConsentStatus, LawfulBasis, MessageKind, Urgency


@pytest.mark.parametrize(
    "vocabulary",
    [
        Phase,
        ThreadKind,
        MessageKind,
        Urgency,
        FhirTaskStatus,
        AckStatus,
        ConsentStatus,
        LawfulBasis,
    ],
)
def test_both_apps_say_the_same_word_for_each_value(vocabulary: type[StrEnum]) -> None:
    for member in vocabulary:
        assert member.value in WORDS, member
        assert label(member.value) == value_label(member.value) == WORDS[member.value]


def test_a_value_without_a_word_is_shown_as_it_is() -> None:
    assert label("a-later-word") is None
    assert value_label("a-later-word") == "a-later-word"
