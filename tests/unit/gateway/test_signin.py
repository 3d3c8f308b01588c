"""Sign-in from the Authorization header: people by password, systems by token, throttled."""

import asyncio
import base64
from collections.abc import Sequence

import pytest

from broker.gateway.records import SignInMethod, SignInOutcome, SignInRecord
from broker.gateway.signin import SignIn
from broker.gateway.users import GatewayUser
from broker.people.throttle import SignInThrottle
from broker.people.tokens import new_token
from tests.gateway_users import PASSWORDS, SYSTEM_TOKEN, make_users

ADDRESS = "192.0.2.1"


def basic(name: str, password: str) -> list[bytes]:
    return [b"Basic " + base64.b64encode(f"{name}:{password}".encode())]


class Log:
    def __init__(self) -> None:
        self.records: list[SignInRecord] = []

    async def __call__(self, record: SignInRecord) -> None:
        self.records.append(record)

    def outcomes(self) -> list[tuple[str | None, SignInMethod, SignInOutcome]]:
        return [(r.name, r.method, r.outcome) for r in self.records]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sign_in(log: Log, clock: Clock | None = None, **kwargs: object) -> SignIn:
    return SignIn(make_users(), log, clock=clock or Clock(), **kwargs)  # type: ignore[arg-type]


async def user_of(signin: SignIn, header: Sequence[bytes], address: str = ADDRESS) -> str | int:
    verdict = await signin.authenticate(header, address)
    return verdict.name if isinstance(verdict, GatewayUser) else verdict.status


async def test_a_person_by_password_and_a_system_by_token() -> None:
    log = Log()
    signin = sign_in(log)
    assert await user_of(signin, basic("ana", PASSWORDS["ana"])) == "ana"
    assert await user_of(signin, [f"Bearer {SYSTEM_TOKEN}".encode()]) == "case-system"
    assert await user_of(signin, [f"bearer   {SYSTEM_TOKEN}".encode()]) == "case-system"
    assert log.outcomes() == [
        ("ana", SignInMethod.PASSWORD, SignInOutcome.SUCCEEDED),
        ("case-system", SignInMethod.TOKEN, SignInOutcome.SUCCEEDED),
        ("case-system", SignInMethod.TOKEN, SignInOutcome.SUCCEEDED),  # another header
    ]
    assert {r.address for r in log.records} == {ADDRESS}


@pytest.mark.parametrize(
    "header",
    [
        [],
        [b""],
        [b"Bearer"],
        [b"Basic"],
        [b"Basic !!!"],
        [b"Basic " + base64.b64encode(b"no-colon")],
        [b"Basic " + base64.b64encode(b":password-only")],
        [b"Bearer \xff\xfe"],
        [b"Basic \xc3\xa9"],
        ["Bearer clk_ä".encode()],
        [b"Token abc"],
        [b"Bearer " + b"A" * 5000],
        [f"Bearer {SYSTEM_TOKEN}".encode()] * 2,
    ],
)
async def test_malformed_headers_are_401_and_check_nothing(header: list[bytes]) -> None:
    log = Log()
    assert await user_of(sign_in(log), header) == 401
    assert log.records == []


async def test_a_wrong_token_is_401_and_not_written_to_the_log() -> None:
    log = Log()
    assert await user_of(sign_in(log), [f"Bearer {new_token()}".encode()]) == 401
    assert log.records == []


async def test_failed_passwords_are_logged_by_known_names_only() -> None:
    log = Log()
    signin = sign_in(log)
    assert await user_of(signin, basic("ana", "wrong")) == 401
    assert await user_of(signin, basic("nobody", "wrong")) == 401
    assert await user_of(signin, basic("case-system", SYSTEM_TOKEN)) == 401
    assert await user_of(signin, basic(PASSWORDS["ana"], "x")) == 401  # a malformed name
    assert log.outcomes() == [
        ("ana", SignInMethod.PASSWORD, SignInOutcome.FAILED),
        (None, SignInMethod.PASSWORD, SignInOutcome.FAILED),
        ("case-system", SignInMethod.PASSWORD, SignInOutcome.FAILED),
        (None, SignInMethod.PASSWORD, SignInOutcome.FAILED),
    ]


async def test_credentials_that_passed_are_remembered_per_address_for_a_while() -> None:
    log, clock = Log(), Clock()
    signin = sign_in(log, clock, remember_s=60.0)
    header = basic("ana", PASSWORDS["ana"])
    for _ in range(3):
        assert await user_of(signin, header) == "ana"
    assert len(log.records) == 1  # one check, one sign-in
    assert await user_of(signin, header, "198.51.100.9") == "ana"
    assert len(log.records) == 2  # another address signs in anew
    clock.now += 61
    assert await user_of(signin, header) == "ana"
    assert len(log.records) == 3


async def test_a_throttled_name_waits_even_with_the_right_password() -> None:
    log, clock = Log(), Clock()
    signin = sign_in(log, clock, throttle=SignInThrottle(free_failures=1, base_delay_s=10.0))
    assert await user_of(signin, basic("ana", "wrong")) == 401
    verdict = await signin.authenticate(basic("ana", PASSWORDS["ana"]), "198.51.100.9")
    assert not isinstance(verdict, GatewayUser)
    assert (verdict.status, verdict.retry_after_s) == (429, 10)
    clock.now += 10
    assert await user_of(signin, basic("ana", PASSWORDS["ana"])) == "ana"


async def test_a_parallel_burst_cannot_outrun_the_throttle() -> None:
    log = Log()
    throttle = SignInThrottle(free_failures=3, base_delay_s=60.0)
    signin = sign_in(log, throttle=throttle, concurrent_checks=1)
    guesses = [user_of(signin, basic("sam", f"guess-{i}")) for i in range(20)]
    results = await asyncio.gather(*guesses)
    assert results.count(401) == 3
    assert results.count(429) == 17
    assert len(log.records) == 3  # only the checked guesses are sign-in attempts
