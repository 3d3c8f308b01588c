"""Structured logging, configured once per process.

JSON lines in production, a readable console in a terminal. Ids (message, thread, agency)
are bound in context with `bound_ids`. A last-line-of-defence processor refuses to emit any
field that is not on the allowlist below, or any value that is a model or raw bytes: a body
decrypted somewhere up the stack can therefore never reach a log line by accident.
"""

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

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
