"""Rendering a page for one reader: the Jinja2 environment of each language, and `Look`.

Autoescaping is on for every template but plain text (the emails' `.txt`, sent as
text/plain, where `&amp;` would be a wrong character, not a defence), undefined names
raise, and the `i18n` extension gives templates `_`, `gettext`, `ngettext` and
`{% trans %}` over the reader's catalogue. An app names the packages whose `templates/`
folders it uses; this package's own (`base.html`, `login.html`, `error.html`, `macros.html`)
come last, so an app's templates extend and import them.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from broker.look.formats import Formats
from broker.look.languages import DEFAULT_LANGUAGE, is_language, translations


@dataclass(frozen=True)
class Reader:
    """Who a page (or an email) is for: their language and time zone, and what the header
    says of them: their name (None before sign-in), role and agency."""

    language: str = DEFAULT_LANGUAGE
    time_zone: str = "UTC"
    name: str | None = None
    role: str = ""  # an English message: "coordinator", "caseworker"
    agency: str | None = None

    @property
    def formats(self) -> Formats:
        return Formats(self.language, self.time_zone)


@dataclass(frozen=True)
class NavLink:
    """One entry of the header's navigation; `label` is an English message, translated there."""

    href: str
    label: str


class Look:
    """The templates of `packages` (and this package's), rendered in each reader's language.

    `app_name` is the header's title (an English message); `nav` the header's links;
    `globals` extra names every template sees: functions of the app, such as
    `agency_name` (an agency id to its directory name, or None).
    """

    def __init__(
        self,
        packages: Sequence[str],
        *,
        app_name: str,
        nav: Sequence[NavLink] = (),
        globals: Mapping[str, Any] | None = None,
    ) -> None:
        self.packages, self.app_name, self.nav = tuple(packages), app_name, tuple(nav)
        self.globals = dict(globals or {})
        self._environments: dict[str, Environment] = {}

    def render(self, template: str, reader: Reader, /, **context: Any) -> str:
        """`template` filled with `context` for `reader`: their language, formats and name."""
        environment = self.environment(reader.language)
        return environment.get_template(template).render(
            reader=reader,
            fmt=reader.formats,
            app_name=self.app_name,
            nav=self.nav,
            **context,
        )

    def environment(self, language: str) -> Environment:
        """The environment translating into `language` (one per language, made once)."""
        if not is_language(language):
            raise ValueError(f"no catalogue for language {language!r}")
        found = self._environments.get(language)
        if found is None:
            found = self._environments[language] = self._build(language)
        return found

    def _build(self, language: str) -> Environment:
        loaders = [PackageLoader(package, "templates") for package in self.packages]
        environment = Environment(
            loader=ChoiceLoader([*loaders, PackageLoader(__package__, "templates")]),
            autoescape=select_autoescape(disabled_extensions=("txt",), default=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
        environment.globals.update(agency_name=_no_name)
        environment.globals.update(self.globals)
        return environment


def _no_name(agency_id: str) -> str | None:
    """Names no agency: pages then show ids alone (an app passes its own `agency_name`)."""
    return None


Gettext = Callable[[str], str]


def gettext_for(language: str) -> Gettext:
    """The gettext of `language`, for text built outside a template (a subject line)."""
    return translations(language).gettext


STATIC_FILES: Mapping[str, str] = {
    "app.css": "text/css",
    "live.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}
"""The shared static files, each with its media type."""
STATIC_PATHS = frozenset(f"/static/{name}" for name in STATIC_FILES)
"""Where an app serves them: open to anyone (the sign-in page uses them)."""


def static_file(name: str) -> bytes:
    """One of the shared static files (`app.css`, `live.js`, `icon.svg`)."""
    return files(__package__).joinpath("static", name).read_bytes()
