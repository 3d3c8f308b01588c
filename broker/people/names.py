"""The form of a user's name, the same in every users file (gateway and dashboard).

Names go into Basic credentials (so no ':'), cookies, the sign-in log and the read audit
(so no spaces or control characters), and are at most 64 characters.
"""

import re
from typing import TypeGuard

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def is_user_name(name: object) -> TypeGuard[str]:
    """True when `name` is a string of the user-name form."""
    return isinstance(name, str) and USER_NAME.fullmatch(name) is not None
