"""The notifier's service on fakes: arrival events believed only from their recipient's
gateway, one email per key across redeliveries, a failing language group retried alone."""

import uuid

from broker.notifier.config import Contacts, Recipient
from broker.notifier.emails import Email, Writer
from broker.notifier.ports import MailUnavailable
from broker.notifier.service import Notifier, Settle
from broker.topology.names import Topology
from schemas.arrival import Arrival

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
    def __init__(self, failing_language: str | None = None) -> None:
        self.sent: list[Email] = []
        self.failing_language = failing_language

    async def send(self, email: Email) -> None:
        if self.failing_language and email.key.split("/")[1] == self.failing_language:
            raise MailUnavailable("down")
        self.sent.append(email)


async def no_sleep(_seconds: float) -> None:
    return None


def notifier(mailer: Mailer, sent: MemorySentLog) -> Notifier:
    return Notifier(
        sent=sent,
        mailer=mailer,
        writer=Writer(CONTACTS, dashboard_url="https://dash.test"),
        topology=TOPOLOGY,
        hold_s=0.0,
        sleep=no_sleep,
    )


def event(recipient: str = RECIPIENT) -> bytes:
    return (
        Arrival(
            message_id=str(uuid.uuid4()),
            thread_id=str(uuid.uuid4()),
            kind="referral",
            sender=SENDER,
            recipient=recipient,
            arrived_at=1_700_000_000,
        )
        .model_dump_json()
        .encode()
    )


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
