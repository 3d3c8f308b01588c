"""HTML building blocks: escaping, times, the page layout, the login and error pages.

Every value that reaches the markup goes through `e` (html.escape with quotes), including
ids and enum values: nothing is trusted to be markup-safe because of where it came from.
"""

import html
from collections.abc import Iterable
from datetime import UTC, datetime

from broker.web.names import AgencyNames
from broker.web.queries import TITLES, Listing
from broker.web.users import Role, User

_ACTIVE = ' class="active"'
NAV = [(f"/{listing.value}", TITLES[listing]) for listing in Listing] + [("/agencies", "Agencies")]


def e(value: object) -> str:
    """`value` as text, escaped for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


class Markup(str):
    """Text already built as markup from escaped parts: table cells take it as it is."""

    __slots__ = ()


def cell(value: object) -> str:
    """`value` for a table cell or definition: Markup as it is, anything else escaped."""
    return value if isinstance(value, Markup) else e(value)


def agency(agency_id: str | None, names: AgencyNames) -> Markup:
    """An agency by its directory name, its id on hover (and printed after it); the id
    alone when the directory does not name it; an em dash for None."""
    if agency_id is None:
        return Markup("\u2014")
    name = names(agency_id)
    if name is None:
        return Markup(f'<span class="agency" data-agency="{e(agency_id)}">{e(agency_id)}</span>')
    return Markup(
        f'<span class="agency named" data-agency="{e(agency_id)}" title="{e(agency_id)}">'
        f"{e(name)}</span>"
    )


def agencies(agency_ids: Iterable[str], names: AgencyNames, waiting: Iterable[str] = ()) -> Markup:
    """Several agencies, comma-separated; those in `waiting` marked "(waiting)"."""
    still = set(waiting)
    return Markup(
        ", ".join(agency(a, names) + (" (waiting)" if a in still else "") for a in agency_ids)
    )


def when(seconds: float | None) -> str:
    """A Unix time as `2024-05-01 14:03 UTC`; an em dash for None."""
    if seconds is None:
        return "\u2014"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def clock_time(seconds: float) -> str:
    """A Unix time as `14:03:27 UTC`: when a live list was last refreshed."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """A span like `2h 5m`, `3d 4h`, `7m` or `40s`; an em dash for None."""
    if seconds is None:
        return "\u2014"
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def page(title: str, body: str, *, user: User | None, active: str = "") -> str:
    """A whole HTML document around `body` (already markup) with the navigation bar."""
    header = _header(user, active) if user is not None else "<header><b>Caselink</b></header>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} \u2013 Caselink</title>"
        '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/app.css">'
        '<script src="/static/live.js" defer></script></head>'
        f"<body>{header}<main>{body}</main></body></html>"
    )


def login_page(next_path: str, *, message: str | None = None) -> str:
    """The login form; after login the user lands on `next_path` (a local path)."""
    error = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    body = (
        '<form class="login" method="post" action="/login">'
        "<h1>Sign in to the coordinator dashboard</h1>"
        f"{error}"
        '<label>Name <input name="name" autocomplete="username" required autofocus></label>'
        '<label>Password <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        '<button type="submit">Sign in</button></form>'
    )
    return page("Sign in", body, user=None)


def error_page(title: str, detail: str, *, user: User | None) -> str:
    """A short error page (not found, forbidden) with the navigation when signed in."""
    body = f'<h1>{e(title)}</h1><p>{e(detail)}</p><p><a href="/">Back to the dashboard</a></p>'
    return page(title, body, user=user)


def who(user: User) -> str:
    """`name (coordinator)` or `name (supervisor, agency)`."""
    if user.role is Role.SUPERVISOR:
        return f"{user.name} (supervisor, {user.agency})"
    return f"{user.name} (coordinator)"


def _header(user: User, active: str) -> str:
    links = "".join(
        f'<a href="{e(href)}"{_ACTIVE if href == active else ""}>{e(label)}</a>'
        for href, label in NAV
    )
    return (
        f"<header><b>Caselink</b><nav>{links}</nav>"
        f'<span class="who">{e(who(user))}'
        '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'
        "</span></header>"
    )
