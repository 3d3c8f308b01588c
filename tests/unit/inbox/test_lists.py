"""What the lists and the send form take from the store: every unanswered referral, however
old, and the consents in force only."""

import re
import time
from datetime import date

from broker.gateway.records import ConsentRecord, InboxState
from schemas.examples import CONSENT_ID
from tests.gateway_records import delivery, incoming, new_id
from tests.unit.inbox.harness import POLICE_ONLY, message_ids, sign_in, two_agencies


async def test_an_old_overdue_referral_is_listed_behind_many_newer_messages() -> None:
    async with two_agencies() as (_, b), b.browser() as receiver:
        old = incoming(received_at=1000.0, header_json='{"respond_by": 2000}')
        newer = [
            incoming(
                kind="consent",
                status="granted",
                state=InboxState.INFORMATIONAL,
                received_at=5000.0 + n,
            )
            for n in range(150)
        ] + [incoming(state=InboxState.ACCEPTED, received_at=9000.0 + n) for n in range(150)]
        await b.store.store_received([delivery(m) for m in (old, *newer)])
        await sign_in(receiver, "ana")
        listed = message_ids((await receiver.get("/inbox")).text)
        assert listed[0] == old.message_id  # overdue: first
        assert len(listed) == 151  # the referrals, not the consents
        assert not {m.message_id for m in newer[:150]} & set(listed)


async def test_each_row_link_is_named_by_its_kind_sender_and_time() -> None:
    async with two_agencies() as (_, b), b.browser() as receiver:
        first = incoming(received_at=1_700_000_000.0)
        second = incoming(received_at=1_700_003_600.0)
        await b.store.store_received([delivery(m) for m in (first, second)])
        await sign_in(receiver, "ana")
        page = (await receiver.get("/inbox")).text
        names = re.findall(
            r'<a id="open-[^"]+" href="[^"]+" aria-label="([^"]+)">Referral</a>', page
        )
        assert len(names) == 2
        assert len(set(names)) == 2
        assert all(n.startswith("Referral from st-marys-hospital, received ") for n in names)


def register_entry(consent_id: str, **changes: object) -> ConsentRecord:
    values: dict[str, object] = {
        "consent_id": consent_id,
        "status": "granted",
        "valid_from": date(2020, 1, 1),
        "valid_until": date(2099, 12, 31),
        "agencies": (),
        "agency_kinds": ("social_services",),
        "purposes": ("assessment",),
        "data_categories": ("identity",),
        "giver": "parent",
        "recorded_at": time.time(),
        "recorded_by": "ana",
        "sealed": b"opaque",
    }
    return ConsentRecord(**(values | changes))  # type: ignore[arg-type]


async def test_the_send_form_suggests_the_consents_in_force_however_old() -> None:
    async with two_agencies() as (a, _), a.browser() as sender:
        expired = new_id()
        await a.store.save_consent(register_entry(expired, valid_until=date(2021, 1, 1)))
        for _ in range(200):  # recorded after the example consent: none of them in force
            await a.store.save_consent(register_entry(new_id(), status="refused"))
        await sign_in(sender, "ana")
        form = (await sender.get("/send")).text
        [register] = re.findall(r'<datalist id="register">(.*?)</datalist>', form, re.S)
        offered = set(re.findall(r'<option value="([0-9a-f-]{36})"', register))
        assert CONSENT_ID in offered  # the example consent, recorded before the 200
        assert POLICE_ONLY in offered
        assert expired not in offered
        assert len(offered) == 2
