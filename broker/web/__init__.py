"""The coordinator dashboard and JSON API over the tracker store (ids and times, no content).

`create_tracker_app` builds the FastAPI app; `load_users` reads the users file, whose
password hashes `hash_password` makes.
"""

from broker.web.app import create_tracker_app
from broker.web.errors import PasswordHashError, SessionSecretError, UsersFileError, WebError
from broker.web.users import Role, User, hash_password, load_users, parse_users, verify_password

__all__ = [
    "PasswordHashError",
    "Role",
    "SessionSecretError",
    "User",
    "UsersFileError",
    "WebError",
    "create_tracker_app",
    "hash_password",
    "load_users",
    "parse_users",
    "verify_password",
]
