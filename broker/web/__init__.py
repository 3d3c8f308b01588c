"""The coordinator dashboard and JSON API over the tracker store (ids and times, no content).

`create_tracker_app` builds the FastAPI app; `load_users` reads the users file, whose
password hashes `broker.people.passwords.hash_password` makes.
"""

from broker.web.app import create_tracker_app
from broker.web.errors import UsersFileError, WebError
from broker.web.users import Role, User, load_users, parse_users

__all__ = [
    "Role",
    "User",
    "UsersFileError",
    "WebError",
    "create_tracker_app",
    "load_users",
    "parse_users",
]
