"""A Task search's parameters: what a client writes badly is a 400, never a crash."""

import pytest

from adapters.health.search import BadSearch, parse_query


@pytest.mark.parametrize("count", ["²", "9" * 5000, "0", "-1", "ten"])
def test_a_bad_count_is_a_bad_search(count: str) -> None:
    with pytest.raises(BadSearch):
        parse_query([("_count", count)], default_count=50, max_count=200)


def test_a_good_count_is_taken() -> None:
    assert parse_query([("_count", "20")], default_count=50, max_count=200).count == 20
