"""Sign-in throttling: free mistakes, then doubling waits, per name and per address."""

from broker.people.throttle import SignInThrottle


def test_first_failures_are_free_then_the_wait_doubles() -> None:
    throttle = SignInThrottle(free_failures=3, base_delay_s=1.0, max_delay_s=8.0)
    for _ in range(2):
        throttle.failed("ana", "10.0.0.1", now=100.0)
    assert throttle.wait("ana", "10.0.0.1", now=100.0) == 0.0
    throttle.failed("ana", "10.0.0.1", now=100.0)
    assert throttle.wait("ana", "10.0.0.1", now=100.0) == 1.0
    throttle.failed("ana", "10.0.0.1", now=100.0)
    assert throttle.wait("ana", "10.0.0.1", now=100.5) == 1.5
    for _ in range(10):
        throttle.failed("ana", "10.0.0.1", now=200.0)
    assert throttle.wait("ana", "10.0.0.1", now=200.0) == 8.0  # capped


def test_a_name_is_throttled_from_every_address_and_an_address_for_every_name() -> None:
    throttle = SignInThrottle(free_failures=2)
    throttle.failed("ana", "10.0.0.1", now=0.0)
    throttle.failed("ana", "10.0.0.2", now=0.0)
    assert throttle.wait("ana", "10.0.0.3", now=0.0) > 0  # many addresses, one name
    throttle.failed("bo", "10.0.0.9", now=0.0)
    throttle.failed("cy", "10.0.0.9", now=0.0)
    assert throttle.wait("dee", "10.0.0.9", now=0.0) > 0  # one address, many names
    assert throttle.wait("dee", "10.0.0.8", now=0.0) == 0.0


def test_success_forgets_the_name_but_not_the_address() -> None:
    throttle = SignInThrottle(free_failures=1)
    throttle.failed("ana", "10.0.0.1", now=0.0)
    throttle.succeeded("ana")
    assert throttle.wait("ana", "10.0.0.2", now=0.0) == 0.0
    assert throttle.wait("bo", "10.0.0.1", now=0.0) > 0


def test_failures_are_forgotten_after_a_quiet_hour_and_memory_is_bounded() -> None:
    throttle = SignInThrottle(free_failures=1, forget_after_s=60.0, max_keys=4)
    throttle.failed("ana", "10.0.0.1", now=0.0)
    assert throttle.wait("ana", "10.0.0.1", now=61.0) == 0.0
    for index in range(10):
        throttle.failed(f"user{index}", f"10.0.1.{index}", now=100.0)
    assert len(throttle._failures) == 4
    assert throttle.wait("user9", "10.0.1.9", now=100.0) > 0  # the newest are kept
