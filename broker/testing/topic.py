"""RabbitMQ's topic matching: `*` is exactly one word, `#` is zero or more words."""

from functools import cache


@cache
def topic_matches(binding_key: str, routing_key: str) -> bool:
    """Whether a topic exchange routes `routing_key` to a queue bound with `binding_key`.

    Words are separated by dots; an empty key is one empty word, as in RabbitMQ. Written
    here because the rule is this short and no maintained library carries it alone.
    """
    return _match(tuple(binding_key.split(".")), tuple(routing_key.split(".")))


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
