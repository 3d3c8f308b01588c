"""The calls OpenFn's Primero adaptor makes (packages/primero/src/Adaptor.js), over httpx.

HTTP Basic with a user name and password, JSON bodies wrapped in `{"data": ...}`, request
by request as the adaptor sends them; transfers and revoke, which the adaptor lacks, as
Primero's API takes them.
"""

import base64
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class PrimeroClient:
    api: httpx.AsyncClient
    user: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return await self.api.request(
            method, path, json=body, params=params or None, headers=self.headers
        )

    async def create_case(self, case: dict[str, Any]) -> dict[str, Any]:
        """createCase: POST /api/v2/cases."""
        answer = await self.call("POST", "/api/v2/cases", case)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    async def get_cases(
        self, *, with_referrals: bool = False, **query: Any
    ) -> list[dict[str, Any]]:
        """getCases(query, {withReferrals}): the cases, then each case's referrals."""
        answer = await self.call("GET", "/api/v2/cases", **query)
        assert answer.status_code == 200, answer.text
        cases: list[dict[str, Any]] = answer.json()["data"]
        if with_referrals:
            for case in cases:
                case["referrals"] = await self.get_referrals(case["id"])
        return cases

    async def get_referrals(self, case_id: str) -> list[dict[str, Any]]:
        """getReferrals: GET /api/v2/cases/:id/referrals."""
        answer = await self.call("GET", f"/api/v2/cases/{case_id}/referrals")
        assert answer.status_code == 200, answer.text
        data: list[dict[str, Any]] = answer.json()["data"]
        return data

    async def create_referrals(self, data: dict[str, Any]) -> httpx.Response:
        """createReferrals({data: {ids, transitioned_to, notes}}): the bulk POST."""
        return await self.call("POST", "/api/v2/cases/referrals", {"data": data})

    async def update_referral(self, case_id: str, rid: str, data: dict[str, Any]) -> httpx.Response:
        """updateReferral({caseId, id, data}): PATCH .../referrals/:id."""
        return await self.call("PATCH", f"/api/v2/cases/{case_id}/referrals/{rid}", {"data": data})

    async def transfers(self, case_id: str) -> list[dict[str, Any]]:
        answer = await self.call("GET", f"/api/v2/cases/{case_id}/transfers")
        assert answer.status_code == 200, answer.text
        data: list[dict[str, Any]] = answer.json()["data"]
        return data
