"""The forms of the message and send pages: free text kept out of the browser's form
history, and an answer refused for its fields shown again with those fields marked and what
was typed kept."""

import re

import httpx

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
