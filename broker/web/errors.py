"""Typed errors of the coordinator dashboard: one line each, never a password or a hash."""

from broker.errors import CaselinkError

__all__ = ["UsersFileError", "WebError"]


class WebError(CaselinkError):
    """Base of every error the dashboard raises on purpose."""

    reason = "web_error"


class UsersFileError(WebError, ValueError):
    """The users file is missing, not valid TOML, or breaks its rules."""

    reason = "invalid_users_file"
