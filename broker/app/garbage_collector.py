"""Garbage-collector settings for a long-running service, applied once it is built.

With the defaults, collections took about 5 % of a gateway's CPU under load: every few
hundred allocations (frames, futures, models) the collector ran, and now and then it
walked the ~130,000 objects that imports, keys and the directory leave behind, none of
which ever becomes garbage. Freezing those and collecting the young generation less
often brings that to a fraction of a percent; reference counting still frees almost
everything at once, so memory stays flat.
"""

import gc

YOUNG_GENERATION_THRESHOLD = 10_000
"""Allocations between young-generation collections (CPython's default is 700)."""


def settle_startup_objects() -> None:
    """Move every object alive now out of the collector's sight and collect less often.

    Call once, after the service is built and before it takes load.
    """
    gc.collect()  # what startup left as garbage is freed, not frozen
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
