"""The forms of the message and send pages: free text kept out of the browser's form
history, and an answer refused for its fields shown again with those fields marked and what
was typed kept."""

import re

import httpx
import pytest

from tests.unit.inbox.harness import message_ids, referral_form, sign_in, two_agencies
from tests.waiting import eventually


async def received_one(sender: httpx.AsyncClient, receiver: httpx.AsyncClient) -> str:
    """A referral sent by the form and arrived in the receiver's list: its id."""
    assert (await sender.post("/send", data=referral_form())).status_code == 303

    async def arrived() -> bool:
        return len(message_ids((await receiver.get("/inbox")).text)) == 1

    await eventually(arrived, "the referral in the received list")
    [message_id] = message_ids((await receiver.get("/inbox")).text)
    return message_id


def forms(html: str) -> list[str]:
    return re.findall(r"<form [^>]*>", html)


async def test_free_text_forms_are_kept_out_of_form_history() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "sam")
        [send_form] = [f for f in forms((await sender.get("/send")).text) if "send-form" in f]
        message_id = await received_one(sender, receiver)
        answer_forms = [
            form
            for form in forms((await receiver.get(f"/inbox/{message_id}")).text)
            if 'method="post"' in form and "/logout" not in form
        ]
        assert len(answer_forms) == 3  # accept, decline, redirect
        for form in [send_form, *answer_forms]:
            assert 'autocomplete="off"' in form, form


def marked(html: str, field_id: str) -> bool:
    """Whether the control `field_id` is marked at fault (and pointed at the problem)."""
    [tag] = re.findall(rf'<(?:textarea|select) id="{field_id}"[^>]*>', html)
    return 'aria-invalid="true"' in tag and 'aria-describedby="problem"' in tag


async def test_a_too_long_note_is_shown_again_marked_with_what_was_typed() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "sam")
        message_id = await received_one(sender, receiver)
        too_long = "x" * 2001
        answer = await receiver.post(
            f"/inbox/{message_id}/decline",
            data={"reason_category": "no_capacity", "reason_text": "Full <b>", "note": too_long},
        )
        assert answer.status_code == 400
        page = answer.text
        assert "Check these fields: Note." in page
        assert "fill in every required field" not in page
        assert marked(page, "decline-note")
        assert not marked(page, "decline-reason-text")
        assert not marked(page, "accept-note")  # another form: untouched
        assert f">{too_long}</textarea>" in page
        assert ">Full &lt;b&gt;</textarea>" in page  # kept, escaped
        assert '<option value="no_capacity" selected>' in page
        stored = await b.store.inbox_message(message_id)
        assert stored is not None
        assert stored.state.value == "new"  # nothing was answered


async def test_an_agency_the_form_does_not_offer_is_refused_on_its_field() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "sam")
        message_id = await received_one(sender, receiver)
        for unknown in ("nowhere-at-all", "oscc-north"):  # not in the directory; the sender
            answer = await receiver.post(
                f"/inbox/{message_id}/redirect",
                data={"to": unknown, "reason_category": "better_placed_elsewhere"},
            )
            assert answer.status_code == 400, unknown
            assert "Check these fields: Redirect to." in answer.text
            assert marked(answer.text, "redirect-to")
            assert not marked(answer.text, "redirect-reason")


async def test_only_the_lifecycle_refusals_say_it_cannot_be_answered_that_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "sam")
        message_id = await received_one(sender, receiver)
        accepted = await receiver.post(f"/inbox/{message_id}/accept", data={"note": ""})
        assert accepted.headers["location"] == "/inbox?done=accepted"
        again = await receiver.post(f"/inbox/{message_id}/accept", data={"note": ""})
        assert again.headers["location"] == f"/inbox/{message_id}?problem=not_allowed"

        async def broken(*args: object, **kwargs: object) -> None:
            raise ValueError("a bug, not a refusal")

        # A programming error is a server error, never "cannot be answered that way now".
        monkeypatch.setattr(b.gateway, "respond", broken)
        with pytest.raises(ValueError, match="a bug"):
            await receiver.post(f"/inbox/{message_id}/complete", data={"outcome": "referred_on"})


def control(html: str, field_id: str) -> str:
    [tag] = re.findall(rf'<(?:input|textarea|select) id="{field_id}"[^>]*>', html)
    return tag


async def test_the_age_fields_name_their_hint_and_their_problem_in_one_attribute() -> None:
    async with two_agencies() as (a, _), a.browser() as sender:
        await sign_in(sender, "ana")
        form = (await sender.get("/send")).text
        for field_id in ("birth_date", "estimated_age"):
            assert control(form, field_id).count("aria-describedby=") == 1
            assert 'aria-describedby="age-hint"' in control(form, field_id)
        refused = await sender.post("/send", data=referral_form(estimated_age=""))
        assert refused.status_code == 422
        for field_id in ("birth_date", "estimated_age"):
            tag = control(refused.text, field_id)
            assert tag.count("aria-describedby=") == 1, tag
            assert 'aria-describedby="problem age-hint"' in tag
            assert 'aria-invalid="true"' in tag
        assert control(refused.text, "given_name").count("aria-describedby") == 0
