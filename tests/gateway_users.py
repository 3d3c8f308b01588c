"""Gateway users for tests: a caseworker, a supervisor and a system, at a cheap scrypt cost.

The passwords and the token are test values, not secrets.
"""

from collections.abc import Mapping

from broker.gateway.users import GatewayUser, parse_users
from broker.people.passwords import hash_password
from broker.people.tokens import new_token, token_hash

PASSWORDS = {"ana": "ana-password-1", "sam": "sam-password-1"}
SYSTEM_TOKEN = new_token()


def cheap_hash(password: str) -> str:
    """scrypt at the lowest cost: the tests check the flow, not the work factor."""
    return hash_password(password, n=2, r=1, p=1)


def entries() -> list[dict[str, str]]:
    """The users' `[[users]]` entries, freshly hashed."""
    return [
        {
            "name": "ana",
            "role": "caseworker",
            "password_hash": cheap_hash(PASSWORDS["ana"]),
            "display_name": "Ana Lopes",
            "job_title": "Duty social worker",
            "phone": "+44 20 7946 0000",
        },
        {"name": "sam", "role": "supervisor", "password_hash": cheap_hash(PASSWORDS["sam"])},
        {"name": "case-system", "role": "system", "token_hash": token_hash(SYSTEM_TOKEN)},
    ]


def make_users() -> Mapping[str, GatewayUser]:
    return parse_users({"users": entries()})


def users_toml() -> str:
    """The same users as a users file's text."""
    lines = []
    for entry in entries():
        lines.append("[[users]]")
        lines += [f'{key} = "{value}"' for key, value in entry.items()]
        lines.append("")
    return "\n".join(lines)
