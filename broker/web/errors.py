"""Typed errors of the coordinator dashboard: one line each, never a password or a hash."""

from broker.errors import CaselinkError


class WebError(CaselinkError):
    """Base of every error the dashboard raises on purpose."""

    reason = "web_error"


class UsersFileError(WebError, ValueError):
    """The users file is missing, not valid TOML, or breaks its rules."""

    reason = "invalid_users_file"


class SessionSecretError(WebError, ValueError):
    """The session secret is too short to sign cookies safely."""

    reason = "weak_session_secret"
