"""The inbox pages between two gateways on the in-memory broker: a referral sent with the
form arrives in the other agency's list, is opened (the read recorded with the person),
answered with each form, and the sender's list shows what became of it. Refusals by the
consent rules are shown on the form; hostile values are escaped wherever they are shown."""

import httpx

from broker.gateway.records import InboxState, ReadChannel
from broker.inbox.views import received_list
from tests.gateway_records import incoming
from tests.unit.inbox.harness import POLICE_ONLY, message_ids, referral_form, sign_in, two_agencies
from tests.waiting import eventually


async def send_referral(browser: httpx.AsyncClient, **changes: object) -> httpx.Response:
    return await browser.post("/send", data=referral_form(**changes))


async def arrived(browser: httpx.AsyncClient, count: int = 1) -> list[str]:
    """The received list's ids once `count` messages are in it."""

    async def enough() -> bool:
        return len(message_ids((await browser.get("/inbox")).text)) >= count

    await eventually(enough, f"{count} referral(s) in the received list")
    return message_ids((await browser.get("/inbox")).text)


async def answer_shown(sender: httpx.AsyncClient, answer: str) -> str:
    async def shown() -> bool:
        return f'data-answer="{answer}"' in (await sender.get("/sent")).text

    await eventually(shown, f"the sent list showing {answer}")
    return (await sender.get("/sent")).text


async def test_send_open_accept_complete_and_the_sender_sees_each_answer() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "sam")
        sent = await send_referral(sender)
        assert (sent.status_code, sent.headers["location"]) == (303, "/sent?done=sent")
        page = (await sender.get("/sent?done=sent")).text
        assert 'role="status"' in page
        assert "Sent. It is sealed and queued for the recipient." in page

        [message_id] = await arrived(receiver)
        listed = (await receiver.get("/inbox")).text
        assert "North Hospital OSCC" in listed  # the sender by its directory name
        assert 'data-state="new"' in listed
        assert "Synthetic narrative" not in listed  # bodies are shown on the message page only

        opened = await receiver.get(f"/inbox/{message_id}")
        assert opened.status_code == 200
        assert "Synthetic narrative: the child has missed school" in opened.text
        assert "Reasons for concern" in opened.text
        assert "School absence" in opened.text
        assert 'id="accept-form"' in opened.text
        assert 'id="complete-form"' not in opened.text
        stored = await b.store.inbox_message(message_id)
        assert stored is not None
        [read] = await b.store.reads(stored.thread_id)
        assert (read.reader, read.channel) == ("sam", ReadChannel.PAGE)

        accepted = await receiver.post(f"/inbox/{message_id}/accept", data={"note": "On it"})
        assert accepted.headers["location"] == "/inbox?done=accepted"
        assert (
            "Accepted. The sender has been told."
            in (await receiver.get("/inbox?done=accepted")).text
        )
        await answer_shown(sender, "accepted")

        reopened = (await receiver.get(f"/inbox/{message_id}")).text
        assert 'id="complete-form"' in reopened
        assert 'id="accept-form"' not in reopened
        completed = await receiver.post(
            f"/inbox/{message_id}/complete",
            data={"outcome": "service_provided", "outcome_text": "Assessed"},
        )
        assert completed.headers["location"] == "/inbox?done=completed"
        row = await answer_shown(sender, "completed")
        assert 'data-delivery="delivered"' in row


async def test_a_full_length_thai_plan_and_note_fit_the_answer_form() -> None:
    # 2,000 Thai characters are 18,000 bytes once percent-encoded: two of them must fit.
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "ana")
        await send_referral(sender)
        [message_id] = await arrived(receiver)
        await receiver.get(f"/inbox/{message_id}")
        await receiver.post(f"/inbox/{message_id}/accept", data={"note": ""})
        thai = "แผน" * 666 + "ก"
        planned = await receiver.post(
            f"/inbox/{message_id}/plan", data={"plan": thai, "note": thai}
        )
        assert (planned.status_code, planned.headers["location"]) == (
            303,
            "/inbox?done=planned",
        )


async def test_record_the_plan_between_accepting_and_completing() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "ana")
        assert (await send_referral(sender)).status_code == 303
        [message_id] = await arrived(receiver)
        assert 'id="plan-form"' not in (await receiver.get(f"/inbox/{message_id}")).text
        early = await receiver.post(f"/inbox/{message_id}/plan", data={"plan": "Visits"})
        assert early.headers["location"] == f"/inbox/{message_id}?problem=not_allowed"
        await receiver.post(f"/inbox/{message_id}/accept", data={"note": ""})

        accepted = (await receiver.get(f"/inbox/{message_id}")).text
        assert 'id="plan-form"' in accepted
        assert '<label for="plan-text">The plan</label>' in accepted
        assert 'name="plan" maxlength="2000" rows="4" required aria-describedby="plan-help"' in (
            accepted
        )
        assert accepted.index('id="plan-form"') < accepted.index('id="complete-form"')
        blank = await receiver.post(f"/inbox/{message_id}/plan", data={"plan": "  "})
        assert blank.status_code == 400  # shown again, the field named and described
        assert 'aria-invalid="true" aria-describedby="problem plan-help"' in blank.text

        plan = "Weekly home visits for six weeks; review at the team meeting"
        planned = await receiver.post(f"/inbox/{message_id}/plan", data={"plan": plan})
        assert planned.headers["location"] == "/inbox?done=planned"
        told = (await receiver.get("/inbox?done=planned")).text
        assert "Plan recorded. The sender has been told" in told
        assert 'data-state="planned"' in told
        sent = await answer_shown(sender, "planned")
        assert plan not in sent  # the plan stays sealed: lists show states only

        reopened = (await receiver.get(f"/inbox/{message_id}")).text
        assert 'data-state="planned"' in reopened
        assert 'id="plan-form"' not in reopened  # recorded once
        assert 'id="complete-form"' in reopened
        completed = await receiver.post(
            f"/inbox/{message_id}/complete", data={"outcome": "service_provided"}
        )
        assert completed.headers["location"] == "/inbox?done=completed"
        await answer_shown(sender, "completed")


async def test_decline_with_a_reason_and_redirect_to_an_agency() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "ana")
        for _ in range(2):
            assert (await send_referral(sender)).status_code == 303
        first, second = await arrived(receiver, 2)

        missing_reason = await receiver.post(f"/inbox/{first}/decline", data={"note": ""})
        assert missing_reason.status_code == 400
        assert "Check these fields: Reason." in missing_reason.text
        declined = await receiver.post(
            f"/inbox/{first}/decline",
            data={"reason_category": "outside_remit", "reason_text": "Not ours"},
        )
        assert declined.headers["location"] == "/inbox?done=declined"
        text = await answer_shown(sender, "declined")
        assert "Outside our remit" in text  # the reason's category, never its text
        assert "Not ours" not in text

        redirected = await receiver.post(
            f"/inbox/{second}/redirect",
            data={"to": "police-west", "reason_category": "better_placed_elsewhere"},
        )
        assert redirected.headers["location"] == "/inbox?done=redirected"
        await answer_shown(sender, "redirected")
        # Answered already: the same answer again is refused, and said so.
        again = await receiver.post(f"/inbox/{first}/accept", data={"note": ""})
        assert again.headers["location"] == f"/inbox/{first}?problem=not_allowed"
        page = (await receiver.get(again.headers["location"])).text
        assert "cannot be answered that way now" in page


async def test_the_consent_rules_refusals_are_shown_on_the_form_and_nothing_is_sent() -> None:
    async with two_agencies() as (a, _), a.browser() as sender:
        await sign_in(sender, "ana")
        refused = await send_referral(sender, consent_id=POLICE_ONLY)
        assert refused.status_code == 422
        assert "Not sent: this consent does not cover sharing with that agency." in refused.text
        assert 'id="consent_id"' in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert "Synthetic narrative: the child has missed school" in refused.text  # kept
        unknown = await send_referral(sender, consent_id="3f1c9a2e-8b7d-4e6f-a5c4-1d2e3f4a5b6c")
        assert "is not in your agency&#39;s consent register" in unknown.text
        # A caseworker may not authorise a sharing without consent, nor name just anyone.
        lawful = {
            "basis": "lawful",
            "lawful_basis": "child_protection_significant_harm",
            "justification": "Risk of serious harm tonight",
        }
        not_a_supervisor = await send_referral(sender, authorised_by="ana", **lawful)
        assert not_a_supervisor.status_code == 422
        assert "must be authorised by a supervisor" in not_a_supervisor.text
        incomplete = await send_referral(sender, given_name="", narrative="")
        assert incomplete.status_code == 422
        assert "Check these fields: Given name, Account of concern." in incomplete.text
        assert await a.store.sent(limit=10) == []
        # Under a supervisor's lawful basis, it goes.
        by_supervisor = await send_referral(sender, authorised_by="sam", **lawful)
        assert by_supervisor.status_code == 303
        assert len(await a.store.sent(limit=10)) == 1


async def test_a_form_sent_twice_sends_once() -> None:
    async with two_agencies() as (a, _), a.browser() as sender:
        await sign_in(sender, "ana")
        form = referral_form()
        assert (await sender.post("/send", data=form)).headers["location"] == "/sent?done=sent"
        again = await sender.post("/send", data=form)
        assert again.status_code == 303
        assert len(await a.store.sent(limit=10)) == 1


async def test_a_form_without_its_key_is_shown_again_not_called_sent() -> None:
    async with two_agencies() as (a, _), a.browser() as sender:
        await sign_in(sender, "ana")
        form = {k: v for k, v in referral_form().items() if k != "key"}
        answer = await sender.post("/send", data=form)
        assert answer.status_code == 400
        assert "fill it in again" in answer.text
        assert await a.store.sent(limit=10) == []


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


async def test_hostile_values_are_escaped_on_every_page_that_shows_them() -> None:
    async with two_agencies() as (a, b), a.browser() as sender, b.browser() as receiver:
        await sign_in(sender, "ana")
        await sign_in(receiver, "ana")
        shown_back = await send_referral(
            sender, consent_id=POLICE_ONLY, given_name=HOSTILE, narrative=HOSTILE
        )
        assert "<script>alert(1)" not in shown_back.text
        assert "&lt;script&gt;alert(1)" in shown_back.text
        assert (
            await send_referral(sender, given_name=HOSTILE, narrative=HOSTILE)
        ).status_code == 303
        [message_id] = await arrived(receiver)
        page = (await receiver.get(f"/inbox/{message_id}")).text
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
        login = await sender.get("/login", params={"next": f'/inbox"{HOSTILE}'})
        assert "<script>alert(1)" not in login.text
        # A status word is looked up, never echoed.
        assert HOSTILE not in (await receiver.get("/inbox", params={"done": HOSTILE})).text


def test_overdue_and_new_come_first() -> None:
    now = 10_000.0
    late = incoming(state=InboxState.NEW, received_at=100.0, header_json='{"respond_by": 5000}')
    fresh = incoming(state=InboxState.NEW, received_at=9000.0, header_json='{"respond_by": 20000}')
    done = incoming(state=InboxState.ACCEPTED, received_at=9500.0)
    rows = received_list([done, fresh, late], now)
    assert [r.message_id for r in rows] == [late.message_id, fresh.message_id, done.message_id]
    assert [r.overdue for r in rows] == [True, False, False]


async def test_unknown_and_malformed_messages_are_not_found() -> None:
    async with two_agencies() as (_, b), b.browser() as receiver:
        await sign_in(receiver, "ana")
        for path in ("/inbox/00000000-0000-4000-8000-000000000000", "/inbox/not-an-id"):
            answer = await receiver.get(path)
            assert answer.status_code == 404
            assert "There is no such message here." in answer.text
