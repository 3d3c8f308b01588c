"""The notifier's service on fakes: batches of arrival events believed only from their
recipient's gateway (one foreign event refuses the whole batch), one email per key across
redeliveries, a failing language group or event retried alone."""

import asyncio
import json
import uuid

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from broker.look import Reader
from broker.notifier.config import Contacts, Recipient
from broker.notifier.emails import Email, Writer, arrival_key
from broker.notifier.ports import MailRefused, MailUnavailable
from broker.notifier.service import Notifier, Settle
from broker.store.notifier_store import sent_emails
from broker.topology.names import Topology
from schemas.alert import Alert, AlertLevel, AlertReason
from schemas.arrival import LAST_WRITABLE_SECOND, MAX_ARRIVALS, Arrival, ArrivalKind, Arrivals

SENDER, RECIPIENT = "police-west", "social-east"
TOPOLOGY = Topology(user_prefix="t-")
CONTACTS = {
    RECIPIENT: Contacts(duty=["duty@east.test", Recipient(address="thai@east.test", language="th")])
}


class MemorySentLog:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def was_sent(self, key: str) -> bool:
        return key in self.keys

    async def record_sent(self, key: str, at: float) -> None:
        self.keys.add(key)


class Mailer:
    """Sends, except to a failing language group or about a failing message id."""

    def __init__(self, failing_language: str | None = None) -> None:
        self.sent: list[Email] = []
        self.failing_language = failing_language
        self.failing_message: str | None = None
        self.refusing_message: str | None = None

    async def send(self, email: Email) -> None:
        if self.failing_language and email.key.split("/")[1] == self.failing_language:
            raise MailUnavailable("down")
        if self.failing_message and email.message_id == self.failing_message:
            raise MailUnavailable("down")
        if self.refusing_message and email.message_id == self.refusing_message:
            raise MailRefused("no such mailbox", code=550)
        self.sent.append(email)

    def keys(self) -> list[str]:
        return [email.key for email in self.sent]


async def no_sleep(_seconds: float) -> None:
    return None


def notifier(mailer: Mailer, sent: MemorySentLog) -> Notifier:
    return Notifier(
        sent=sent,
        mailer=mailer,
        writer=Writer(CONTACTS, dashboard_url="https://dash.test"),
        topology=TOPOLOGY,
        # The clock stands still and the first backoff (0.25 s at least) is past hold_s:
        # a failing email goes back at once.
        hold_s=0.1,
        clock=lambda: 0.0,
        sleep=no_sleep,
    )


def arrival(recipient: str = RECIPIENT, kind: ArrivalKind = "referral") -> Arrival:
    return Arrival(
        message_id=str(uuid.uuid4()),
        thread_id=str(uuid.uuid4()),
        kind=kind,
        sender=SENDER,
        recipient=recipient,
        arrived_at=1_700_000_000,
    )


def batch(*arrivals: Arrival) -> bytes:
    return Arrivals(arrivals=list(arrivals)).model_dump_json().encode()


def event(recipient: str = RECIPIENT) -> bytes:
    return batch(arrival(recipient))


# Each arrival makes two emails: the duty address in English, the Thai one in Thai.
def keys_of(*arrivals: Arrival) -> list[str]:
    return [
        f"arrival:{one.recipient}:{one.message_id}/{language}/UTC"
        for one in arrivals
        for language in ("en", "th")
    ]


async def test_an_arrival_from_anyone_but_its_recipients_gateway_is_refused() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    body = event()
    for publisher in (TOPOLOGY.agency_user(SENDER), TOPOLOGY.tracker_user(), None):
        assert await service.handle_arrival(body, publisher) is Settle.REJECT
    assert await service.handle_arrival(b"{not json", TOPOLOGY.agency_user(RECIPIENT)) is (
        Settle.REJECT
    )
    assert mailer.sent == []
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.ACK
    assert sorted(email.to for email in mailer.sent) == [("duty@east.test",), ("thai@east.test",)]


async def test_a_redelivered_arrival_is_not_emailed_again() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service, body = notifier(mailer, sent), event()
    for _ in range(3):
        assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.ACK
    assert len(mailer.sent) == 2


async def test_a_failing_group_goes_back_without_sending_the_others_twice() -> None:
    mailer, sent = Mailer(failing_language="th"), MemorySentLog()
    service, body = notifier(mailer, sent), event()
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.REQUEUE
    assert [email.to for email in mailer.sent] == [("duty@east.test",)]
    mailer.failing_language = None
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.ACK
    assert [email.to for email in mailer.sent] == [("duty@east.test",), ("thai@east.test",)]


async def test_a_batch_makes_one_email_per_arrival_and_language_once() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    arrivals = [arrival(), arrival(), arrival()]
    body = batch(*arrivals)
    for _ in range(2):  # a redelivery sends nothing again
        assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.ACK
    assert mailer.keys() == keys_of(*arrivals)
    assert [email.message_id for email in mailer.sent] == [
        one.message_id for one in arrivals for _ in range(2)
    ]


async def test_a_batch_with_one_foreign_recipient_is_refused_whole() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    foreign = arrival(SENDER)
    body = batch(arrival(), arrival(), foreign, arrival())
    with capture_logs() as lines:
        assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is (
            Settle.REJECT
        )
    assert mailer.sent == []
    assert sent.keys == set()
    [line] = lines
    assert line["log_level"] == "warning"
    assert line["message_id"] == foreign.message_id
    assert line["recipient"] == SENDER
    assert set(line) == {"event", "log_level", "message_id", "recipient", "count"}
    # Nor from the foreign agency's own user: then the others are foreign to it.
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(SENDER)) is Settle.REJECT
    assert mailer.sent == []


async def test_a_batch_beyond_the_cap_or_empty_is_unreadable() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    one = arrival()
    for arrivals in ([one] * (MAX_ARRIVALS + 1), []):
        body = b'{"arrivals": [' + b",".join(a.model_dump_json().encode() for a in arrivals) + b"]}"
        assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is (
            Settle.REJECT
        )
    assert (
        await service.handle_arrival(
            one.model_dump_json().encode(), TOPOLOGY.agency_user(RECIPIENT)
        )
        is Settle.REJECT
    )  # a lone event, not in a batch
    assert mailer.sent == []


async def test_an_smtp_failure_mid_batch_is_retried_without_sending_the_others_twice() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    first, failing, last = arrival(), arrival(), arrival(kind="transfer")
    body = batch(first, failing, last)
    mailer.failing_message = failing.message_id
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.REQUEUE
    assert mailer.keys() == keys_of(first)
    mailer.failing_message = None
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.ACK
    assert mailer.keys() == keys_of(first, failing, last)


async def test_an_email_refused_for_good_holds_back_none_of_the_others() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    first, refused, last = arrival(), arrival(), arrival()
    body = batch(first, refused, last)
    mailer.refusing_message = refused.message_id
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.REJECT
    assert mailer.keys() == keys_of(first, last)
    # Put back from the dead letters once the mailbox exists: only what is left goes.
    mailer.refusing_message = None
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.ACK
    assert mailer.keys() == keys_of(first, last, refused)


class BrokenWriter(Writer):
    """Writes no email about one message: a template or value it cannot show."""

    def __init__(self, broken: str) -> None:
        super().__init__(CONTACTS, dashboard_url="https://dash.test")
        self.broken = broken

    def arrival_emails(self, arrival: Arrival) -> list[Email]:
        if arrival.message_id == self.broken:
            raise ValueError(f"cannot show {arrival.arrived_at}")
        return super().arrival_emails(arrival)


async def test_an_unwritable_event_is_dead_lettered_after_the_others_are_sent() -> None:
    first, broken, last = arrival(), arrival(), arrival()
    mailer, sent = Mailer(), MemorySentLog()
    service = Notifier(
        sent=sent,
        mailer=mailer,
        writer=BrokenWriter(broken.message_id),
        topology=TOPOLOGY,
        sleep=no_sleep,
    )
    with capture_logs() as lines:
        settle = await service.handle_arrival(
            batch(first, broken, last), TOPOLOGY.agency_user(RECIPIENT)
        )
    assert settle is Settle.REJECT  # dead-lettered: never back to the queue to block it
    assert mailer.keys() == keys_of(first, last)
    [line] = [line for line in lines if line["log_level"] == "error"]
    assert line == {
        "event": "email not writable; dead-lettered",
        "log_level": "error",
        "reason": "ValueError",
        "message_id": broken.message_id,
        "count": 1,
    }


async def test_an_unwritable_alert_is_dead_lettered() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    # A deadline past the year 9999 (a sender's respond_by may be up to 2**40): no date.
    body = Alert(
        alert_id=str(uuid.uuid4()),
        level=AlertLevel.REMINDER,
        reason=AlertReason.RESPONSE_OVERDUE,
        agency=RECIPIENT,
        sender=SENDER,
        recipient=RECIPIENT,
        raised_at=1_700_000_000,
        deadline=2**40 - 1,
        overdue_seconds=10,
    ).model_dump_json()
    with capture_logs() as lines:
        assert await service.handle(body.encode(), TOPOLOGY.tracker_user()) is Settle.REJECT
    assert mailer.sent == []
    assert [line["event"] for line in lines] == ["email not writable; dead-lettered"]


async def test_an_arrival_time_no_email_could_write_is_refused_on_the_wire() -> None:
    mailer, sent = Mailer(), MemorySentLog()
    service = notifier(mailer, sent)
    late = arrival().model_dump(mode="json") | {"arrived_at": 2**40 - 1}  # year 36812
    body = json.dumps({"arrivals": [late]}).encode()
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.REJECT
    assert mailer.sent == []
    with pytest.raises(ValidationError):
        Arrival.model_validate(late | {"arrived_at": LAST_WRITABLE_SECOND + 1})
    # The last second allowed is written in every zone, 14 hours ahead of UTC included.
    last = arrival().model_copy(update={"arrived_at": LAST_WRITABLE_SECOND})
    for zone in ("Pacific/Kiritimati", "Asia/Bangkok", "Pacific/Pago_Pago", "UTC"):
        contacts = {RECIPIENT: Contacts(duty=["a@east.test"], time_zone=zone)}
        [email] = Writer(contacts, dashboard_url="https://dash.test").arrival_emails(last)
        assert email.message_id == last.message_id


class Clock:
    """Time that passes only when the service sleeps or the mail server takes it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class SlowMailer(Mailer):
    """Takes `takes_s` per email, and fails the first attempt of each when `flaky`."""

    def __init__(self, clock: Clock, takes_s: float, *, flaky: bool = False) -> None:
        super().__init__()
        self.clock, self.takes_s, self.flaky = clock, takes_s, flaky
        self.tried: set[str] = set()

    async def send(self, email: Email) -> None:
        self.clock.now += self.takes_s
        if self.flaky and email.key not in self.tried:
            self.tried.add(email.key)
            raise MailUnavailable("try again")
        await super().send(email)


@pytest.mark.parametrize(("takes_s", "flaky"), [(0.4, False), (0.0, True)])
async def test_hold_s_bounds_the_whole_delivery_not_each_email(takes_s: float, flaky: bool) -> None:
    clock = Clock()
    mailer, sent = SlowMailer(clock, takes_s, flaky=flaky), MemorySentLog()
    service = Notifier(
        sent=sent,
        mailer=mailer,
        writer=Writer(CONTACTS, dashboard_url="https://dash.test"),
        topology=TOPOLOGY,
        retry_max_s=0.5,
        hold_s=1.0,
        clock=clock,
        sleep=clock.sleep,
    )
    arrivals = [arrival(), arrival(), arrival()]  # six emails: each alone is well within 1 s
    body = batch(*arrivals)
    assert await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT)) is Settle.REQUEUE
    # Back to the queue within hold_s of the delivery (and one mail server's answer).
    assert clock.now <= 1.0 + takes_s
    assert 0 < len(mailer.sent) < 6
    # The sent log kept the progress: the next delivery sends the rest, nothing twice.
    while (settle := await service.handle_arrival(body, TOPOLOGY.agency_user(RECIPIENT))) is (
        Settle.REQUEUE
    ):
        pass
    assert settle is Settle.ACK
    assert mailer.keys() == keys_of(*arrivals)


class GatedMailer(Mailer):
    """Refuses the first email; then holds each send until `gate` opens, counting how many
    sends of one key are under way at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.calls = 0
        self.in_flight: dict[str, int] = {}
        self.most_at_once = 0

    async def send(self, email: Email) -> None:
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(0)
            raise MailRefused("try later", code=550)
        self.in_flight[email.key] = self.in_flight.get(email.key, 0) + 1
        self.most_at_once = max(self.most_at_once, self.in_flight[email.key])
        await self.gate.wait()
        self.in_flight[email.key] -= 1
        await super().send(email)


async def test_deliveries_of_one_email_at_once_send_it_once_after_a_failed_first_send() -> None:
    mailer, sent = GatedMailer(), MemorySentLog()
    service = Notifier(
        sent=sent,
        mailer=mailer,
        writer=Writer(
            {RECIPIENT: Contacts(duty=["duty@east.test"])}, dashboard_url="https://dash.test"
        ),
        topology=TOPOLOGY,
        sleep=no_sleep,
    )
    body, user = event(), TOPOLOGY.agency_user(RECIPIENT)

    async def settle() -> None:
        for _ in range(10):
            await asyncio.sleep(0)

    # The first delivery's send fails while a second waits for the key's lock; the second
    # is woken, and sends; a third arrives meanwhile (a republish beside a redelivery).
    first = asyncio.create_task(service.handle_arrival(body, user))
    second = asyncio.create_task(service.handle_arrival(body, user))
    await settle()
    third = asyncio.create_task(service.handle_arrival(body, user))
    await settle()
    mailer.gate.set()
    assert list(await asyncio.gather(first, second, third)) == [
        Settle.REJECT,
        Settle.ACK,
        Settle.ACK,
    ]
    assert mailer.most_at_once == 1
    assert len(mailer.sent) == 1
    assert service._locks == {}  # nothing kept once no delivery uses a key


async def test_one_message_id_at_two_recipients_is_emailed_to_each() -> None:
    # Message ids are chosen by senders: one sent to two agencies (or reused) must not
    # pass, at the second, for an email already sent.
    other = "police-north"
    contacts = CONTACTS | {other: Contacts(duty=["duty@north.test"])}
    mailer, sent = Mailer(), MemorySentLog()
    service = Notifier(
        sent=sent,
        mailer=mailer,
        writer=Writer(contacts, dashboard_url="https://dash.test"),
        topology=TOPOLOGY,
        sleep=no_sleep,
    )
    first = arrival()
    second = first.model_copy(update={"recipient": other})
    assert await service.handle_arrival(batch(first), TOPOLOGY.agency_user(RECIPIENT)) is (
        Settle.ACK
    )
    assert await service.handle_arrival(batch(second), TOPOLOGY.agency_user(other)) is Settle.ACK
    assert [email.to for email in mailer.sent][-1] == ("duty@north.test",)
    assert len(mailer.sent) == 3


def test_the_longest_arrival_key_fits_the_sent_log() -> None:
    longest = arrival().model_copy(update={"recipient": "a" * 32})
    reader = Reader(language="x" * 15, time_zone="z" * 64)  # the settings' own bounds
    assert len(arrival_key(longest, reader)) <= sent_emails.c.email_key.type.length  # type: ignore[attr-defined]
