"""Structured logging, configured once per process.

JSON lines in production, a readable console in a terminal. Ids (message, thread, agency)
are bound in context with `bound_ids`. A last-line-of-defence processor refuses to emit any
field that is not on the allowlist below, or any value that is a model or raw bytes: a body
decrypted somewhere up the stack can therefore never reach a log line by accident.

A failure that repeats while a condition lasts (the broker down, a permission missing) is
logged through a `RecurringFailure`: its first line at once, then one summary a minute,
then one line when it ends, however many attempts fail meanwhile.
"""

import logging
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pydantic import BaseModel

# Ids, categories, counts and timings only. Adding a key here is a privacy decision.
ALLOWED_FIELDS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "exc_info",
        "message_id",
        "thread_id",
        "in_reply_to",
        "agency",
        "sender",
        "recipient",
        "kind",
        "status",
        "urgency",
        "reason",
        "kid",
        "suite",
        "evidence",
        "queue",
        "routing_key",
        "attempt",
        "delay_s",
        "count",
        "since",
        "code",
        "elapsed_ms",
        "path",
        "url",
        "alert_id",
        "level_name",
        "refused_fields",
        "serial",
        # Sign-ins and reads (broker.gateway.signin, Gateway.read): staff user names and
        # client addresses are the accountability record, never case content.
        "user",
        "channel",
        "client",
        "method",
        "outcome",
        "retry_after_s",
        # The consent register (broker.gateway.service): a random id, never whose consent.
        "consent_id",
    }
)

_configured = False


def refuse_body_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Drop fields outside ALLOWED_FIELDS and any model or bytes value; name what was dropped."""
    refused = [
        key
        for key, value in event_dict.items()
        if key not in ALLOWED_FIELDS or isinstance(value, BaseModel | bytes | bytearray)
    ]
    for key in refused:
        del event_dict[key]
    if refused:
        event_dict["refused_fields"] = sorted(refused)
    return event_dict


def quiet_amqp_client_logs() -> None:
    """Silence aiormq's and aio-pika's own log records below CRITICAL.

    They log each failed connection attempt, and a reset connection with a traceback; every
    such failure also reaches our code as an exception, which reports it once (through a
    RecurringFailure, or a command's one-line error). Left on, an outage wrote a line per
    attempt. Only their CRITICAL records (none today) would still show.
    """
    for name in ("aiormq", "aio_pika"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def configure_logging(*, json_lines: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog for this process; idempotent. `json_lines=None` picks by terminal."""
    global _configured
    if _configured:
        return
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    quiet_amqp_client_logs()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            refuse_body_fields,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


@contextmanager
def bound_ids(**ids: str | None) -> Iterator[None]:
    """Bind message/thread/agency ids to every log line written inside the block."""
    with structlog.contextvars.bound_contextvars(
        **{key: value for key, value in ids.items() if value is not None}
    ):
        yield


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A structured logger; configuration happens in the composition root, not at import."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger


SUMMARY_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Failing:
    """A failure still going on: its reason slug, since when (Unix seconds), how many times.

    `code` is a numeric code the far side gave, if any (an AMQP reply code such as 403).
    """

    reason: str
    since: float
    count: int
    code: int | None = None


class RecurringFailure:
    """The log lines of one kind of failure that repeats while its cause lasts.

    `failed` writes the first failure at once (with the ids given), then at most one summary
    every `summary_every_s` (count and start, no ids); a failure with another reason starts
    afresh. `resolved` writes one line if something was failing. `current` is the failure
    going on, for a health check. No traceback is written: callers pass categories, the
    cause is a known condition. Nothing here allocates on the success path.
    """

    def __init__(
        self,
        logger: structlog.typing.FilteringBoundLogger,
        what: str,
        *,
        clock: Callable[[], float] = time.time,
        summary_every_s: float = SUMMARY_EVERY_S,
    ) -> None:
        self._log = logger
        self._what = what
        self._clock = clock
        self._summary_every_s = summary_every_s
        self._current: Failing | None = None
        self._last_line_at = 0.0

    @property
    def current(self) -> Failing | None:
        return self._current

    def failed(
        self,
        event: str,
        *,
        reason: str,
        code: int | None = None,
        level: Literal["warning", "error"] = "warning",
        **ids: str | int | float | None,
    ) -> None:
        """One more failure: logged as `event` if it is a new one, else counted."""
        now = self._clock()
        write = self._log.error if level == "error" else self._log.warning
        current = self._current
        if current is None or current.reason != reason:
            self._current = Failing(reason=reason, since=now, count=1, code=code)
            self._last_line_at = now
            write(event, **_present(reason=reason, code=code, **ids))
            return
        self._current = current = replace(current, count=current.count + 1, code=code)
        if now - self._last_line_at >= self._summary_every_s:
            self._last_line_at = now
            write(
                f"{self._what}: still failing",
                **_present(reason=reason, code=code, count=current.count),
                since=_iso(current.since),
            )

    def resolved(self) -> None:
        """The failure is over (a success): one line saying so, if one was going on."""
        current = self._current
        if current is None:
            return
        self._current = None
        self._log.info(
            f"{self._what}: recovered",
            reason=current.reason,
            count=current.count,
            since=_iso(current.since),
        )


def _present(**fields: str | int | float | None) -> dict[str, str | int | float]:
    return {key: value for key, value in fields.items() if value is not None}


def _iso(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).isoformat(timespec="seconds")
