"""The look both web apps share (the coordinators' dashboard, the agencies' inbox pages):
Jinja2 templates with autoescaping, one stylesheet, one script, and the people's languages.

Nothing here knows the tracker or the gateway: an app hands a template its data, already
reduced to ids, names, categories and times, and the person it is for (their language and
time zone). Every value reaches the markup escaped by Jinja2's autoescaping; no page is
built by string formatting.
"""

from broker.look.formats import Formats
from broker.look.languages import DEFAULT_LANGUAGE, LANGUAGES, N_, translations
from broker.look.pages import Look, Reader

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "N_", "Formats", "Look", "Reader", "translations"]
