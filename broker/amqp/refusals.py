"""Which aiormq failures are the broker refusing (an operator must act) rather than gone."""

from aiormq.exceptions import (
    AuthenticationError,
    ChannelAccessRefused,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    ProbableAuthenticationError,
)

# aiormq raises ProbableAuthenticationError only for a Connection.Close with 403 during the
# handshake (ACCESS_REFUSED: wrong password, unknown user), so it is a refusal too.
_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (ChannelAccessRefused, 403),
    (ChannelNotFoundEntity, 404),
    (ChannelPreconditionFailed, 406),
    (ProbableAuthenticationError, 403),
    (AuthenticationError, 403),
)


def refusal_code(error: BaseException) -> int | None:
    """The AMQP reply code when `error` is the broker refusing; None for anything else."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return None
