"""Every inbox page, in Thai, Danish and Spanish, asks its catalogue only for messages it
holds: a recording gettext finds none missing. The labels cover every body field and every
value of the vocabularies a page shows; a users file's language and time zone are checked."""

import typing
from collections.abc import Iterator
from enum import Enum
from typing import Any

import httpx
import pytest
from babel.support import NullTranslations
from pydantic import BaseModel

from broker.gateway.users import UsersFileError, parse_user
from broker.inbox.labels import FIELDS
from broker.look import languages, pages
from broker.look.vocabulary import WORDS
from schemas.acknowledgement import Acknowledgement
from schemas.consent import Consent
from schemas.referral import Referral
from schemas.transfer import Transfer
from tests.gateway_users import cheap_hash
from tests.unit.inbox.harness import POLICE_ONLY, message_ids, referral_form, sign_in, two_agencies
from tests.waiting import eventually


class Recording(NullTranslations):
    """A catalogue that notes every message asked of it that it does not hold."""

    def __init__(self, real: NullTranslations, missing: set[str]) -> None:
        super().__init__()
        self.real, self.missing = real, missing

    def gettext(self, message: str) -> str:
        if message not in self.real._catalog:  # type: ignore[attr-defined]
            self.missing.add(message)
        return self.real.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if (singular, 0) not in self.real._catalog:  # type: ignore[attr-defined]
            self.missing.add(singular)
        return self.real.ngettext(singular, plural, n)

    # Jinja2 asks for these first; Babel binds them to its own gettext, not an override.
    ugettext = gettext
    ungettext = ngettext


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Messages asked for that the language's catalogue lacks (Looks made from now on)."""
    found: set[str] = set()

    def recording(language: str) -> NullTranslations:
        return Recording(languages.translations(language), found)

    monkeypatch.setattr(pages, "translations", recording)
    return found


async def visit_every_page(sender: httpx.AsyncClient, receiver: httpx.AsyncClient) -> list[str]:
    """Every page and fragment, each kind of status and refusal; returns the pages' text."""
    texts = []

    async def get(client: httpx.AsyncClient, path: str) -> None:
        answer = await client.get(path)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        texts.append(answer.text)

    texts.append((await sender.post("/send", data=referral_form(consent_id=POLICE_ONLY))).text)
    texts.append((await sender.post("/send", data=referral_form(given_name=""))).text)
    await sender.post("/send", data=referral_form())

    async def arrived() -> bool:
        return bool(message_ids((await receiver.get("/inbox")).text))

    await eventually(arrived, "the referral in the received list")
    [message_id] = message_ids((await receiver.get("/inbox")).text)
    await get(receiver, f"/inbox/{message_id}")  # accept, decline and redirect forms
    await receiver.post(f"/inbox/{message_id}/accept", data={"note": ""})
    for path in (
        f"/inbox/{message_id}",  # the plan and complete forms
        f"/inbox/{message_id}?problem=not_allowed",
        "/inbox?done=accepted",
        "/fragments/inbox",
        "/inbox/00000000-0000-4000-8000-000000000000",
    ):
        await get(receiver, path)
    await receiver.post(f"/inbox/{message_id}/plan", data={"plan": "Synthetic plan"})
    for path in ("/inbox?done=planned", f"/inbox/{message_id}"):  # planned: its state shown
        await get(receiver, path)
    for path in ("/send", "/sent?done=sent", "/sent?problem=resent", "/fragments/sent"):
        await get(sender, path)
    return texts


@pytest.mark.parametrize(("name", "language"), [("somchai", "th"), ("mette", "da")])
async def test_every_page_is_translated(name: str, language: str, missing: set[str]) -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        login = await sender.get("/login", headers={"Accept-Language": language})
        assert f'<html lang="{language}">' in login.text
        await sign_in(sender, name)
        await sign_in(receiver, name)
        texts = await visit_every_page(sender, receiver)
    assert missing == set()
    assert all(f'<html lang="{language}">' in text for text in texts if "<html" in text)
    # And translated, not only asked for: the send form's refusal in the user's words.
    refusal = {"th": "ไม่ได้ส่ง: ความยินยอมนี้ไม่ครอบคลุม", "da": "Ikke sendt: dette samtykke"}
    assert refusal[language] in texts[0]
    # The plan form beside the complete form, and the state it leaves, in the user's words.
    form = {"th": '<h3 id="plan-heading">บันทึกแผน</h3>', "da": "Registrér planen</button>"}
    assert any(form[language] in text for text in texts)
    state = {"th": ">บันทึกแผนแล้ว</dd>", "da": ">Plan registreret</dd>"}
    assert any(state[language] in text for text in texts)


async def test_spanish_pages_are_translated(missing: set[str]) -> None:
    # No Spanish user in the shared users: the sign-in form picks Spanish from the browser.
    async with two_agencies() as (a, _), a.browser() as browser:
        page = await browser.get("/login", headers={"Accept-Language": "es-CO,es;q=0.9"})
        assert "Iniciar sesión en la bandeja del organismo" in page.text
        wrong = await browser.post(
            "/login",
            data={"name": "ana", "password": "wrong"},
            headers={"Accept-Language": "es"},
        )
        assert "Nombre o contraseña incorrectos." in wrong.text
    assert missing == set()


def test_the_thai_user_sees_bangkok_times() -> None:
    from broker.look import Formats

    # 2026-03-29 00:30 UTC is 07:30 in Bangkok.
    assert Formats("th", "Asia/Bangkok").when(1774744200.0) == "29/3/26 07:30 น. +07"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        for inner in _types(field.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _models(inner, seen)


def _types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _types(argument)


def test_every_body_field_and_vocabulary_value_has_a_label() -> None:
    seen: set[type[BaseModel]] = set()
    models = [
        m for root in (Referral, Transfer, Consent, Acknowledgement) for m in _models(root, seen)
    ]
    fields = {name for model in models for name in model.model_fields}
    assert fields - set(FIELDS) == set()
    values = {
        member.value
        for model in models
        for field in model.model_fields.values()
        for inner in _types(field.annotation)
        if isinstance(inner, type) and issubclass(inner, Enum)
        for member in inner
    }
    assert values - set(WORDS) == set()


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"language": "fr"}, "language must be one of en, th, da, es"),
        ({"language": 3}, "language must be one of"),
        ({"time_zone": "Mars/Olympus"}, "time_zone must be an IANA time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone must be an IANA time zone"),
    ],
)
def test_a_users_language_and_time_zone_are_checked(changes: dict[str, object], fault: str) -> None:
    entry = {"name": "ana", "role": "caseworker", "password_hash": cheap_hash("x")}
    assert parse_user(entry).language == "en"
    assert parse_user(entry | {"language": "th", "time_zone": "Asia/Bangkok"}).time_zone == (
        "Asia/Bangkok"
    )
    with pytest.raises(UsersFileError, match=fault):
        parse_user(entry | changes)
