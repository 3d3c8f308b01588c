"""A failure that repeats is logged once, then once a minute, then once when it ends."""

from structlog.testing import capture_logs

from broker.logs import Failing, RecurringFailure, get_logger


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_hour_of_failures_every_two_seconds_writes_one_line_a_minute() -> None:
    clock = Clock()
    failures = RecurringFailure(get_logger("test"), "publishing", clock=clock)
    with capture_logs() as lines:
        for _ in range(1800):  # an hour, an attempt every 2 s
            failures.failed("broker unavailable", reason="broker_unavailable", message_id="m-1")
            clock.now += 2.0
        failures.resolved()
    first, *summaries, last = lines
    assert first == {
        "event": "broker unavailable",
        "log_level": "warning",
        "reason": "broker_unavailable",
        "message_id": "m-1",
    }
    assert len(summaries) == 59  # one a minute after the first line
    assert summaries[0] == {
        "event": "publishing: still failing",
        "log_level": "warning",
        "reason": "broker_unavailable",
        "count": 31,
        "since": "2023-11-14T22:13:20+00:00",
    }
    assert all("message_id" not in line for line in summaries)  # counts, not ids
    assert last == {
        "event": "publishing: recovered",
        "log_level": "info",
        "reason": "broker_unavailable",
        "count": 1800,
        "since": "2023-11-14T22:13:20+00:00",
    }
    assert not any("exc_info" in line for line in lines)


def test_current_is_the_failure_going_on_and_a_success_clears_it() -> None:
    clock = Clock()
    failures = RecurringFailure(get_logger("test"), "publishing", clock=clock)
    assert failures.current is None
    with capture_logs():
        failures.failed("refused", reason="publish_refused", code=403, level="error")
        clock.now += 3
        failures.failed("refused", reason="publish_refused", code=403, level="error")
        assert failures.current == Failing("publish_refused", clock.now - 3, 2, 403)
        failures.resolved()
    assert failures.current is None


def test_another_reason_is_a_new_failure_with_its_own_first_line() -> None:
    clock = Clock()
    failures = RecurringFailure(get_logger("test"), "publishing", clock=clock)
    with capture_logs() as lines:
        failures.failed("broker unavailable", reason="broker_unavailable")
        failures.failed("broker unavailable", reason="broker_unavailable")
        clock.now += 1
        failures.failed("refused", reason="publish_refused", code=403, level="error")
    assert [(line["event"], line["log_level"]) for line in lines] == [
        ("broker unavailable", "warning"),
        ("refused", "error"),
    ]
    assert lines[1]["code"] == 403
    assert failures.current == Failing("publish_refused", clock.now, 1, 403)


def test_success_without_a_failure_writes_nothing() -> None:
    failures = RecurringFailure(get_logger("test"), "publishing")
    with capture_logs() as lines:
        for _ in range(100):
            failures.resolved()
    assert lines == []
