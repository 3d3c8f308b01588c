import gc
import weakref
from collections.abc import Iterator

import pytest

from broker.app.garbage_collector import YOUNG_GENERATION_THRESHOLD, settle_startup_objects


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_startup_objects_are_frozen_and_young_collections_are_rarer() -> None:
    _, older, oldest = gc.get_threshold()
    settle_startup_objects()
    assert gc.get_freeze_count() > 1000  # this process's imports, at least
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, older, oldest)


@pytest.mark.usefixtures("restored_collector")
def test_garbage_left_by_startup_is_collected_not_frozen() -> None:
    class Node:
        partner: "Node"

    first, second = Node(), Node()
    first.partner, second.partner = second, first  # a cycle: only the collector frees it
    watch = weakref.ref(first)
    del first, second
    settle_startup_objects()
    assert watch() is None  # frozen, it would have lived as long as the process
