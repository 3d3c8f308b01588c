"""/metrics in the Prometheus text format (0.0.4), written by hand, and /healthz.

/metrics names agencies (the overdue counts are by recipient), so it takes a secret: the
metrics token, presented as a bearer token, as the gateways' /metrics does. Prometheus so
holds no coordinator's login, and a scrape costs no password hash.
"""

import math
from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from broker.keystore import token_matches
from broker.web.models import Health
from broker.web.queries import Dashboard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def prometheus_text(figures: Mapping[str, object], now: float) -> str:
    """The exposition text of the store's `metrics()` figures at `now` (Unix seconds)."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"))

    family("caselink_open_threads", "gauge", "Threads with an original and no final answer.")
    lines.append(f"caselink_open_threads {_count(figures.get('open_threads'))}")
    family(
        "caselink_overdue_threads",
        "gauge",
        "Open threads past a deadline, by recipient agency and urgency.",
    )
    overdue = figures.get("overdue")
    if isinstance(overdue, Mapping):
        for (agency, urgency), count in sorted(overdue.items()):
            labels = f'agency="{_label(agency)}",urgency="{_label(urgency)}"'
            lines.append(f"caselink_overdue_threads{{{labels}}} {_count(count)}")
    family("caselink_alerts_raised_total", "counter", "Alerts the tracker has recorded.")
    lines.append(f"caselink_alerts_raised_total {_count(figures.get('alerts_raised'))}")
    family("caselink_alerts_unpublished", "gauge", "Recorded alerts the broker has not confirmed.")
    lines.append(f"caselink_alerts_unpublished {_count(figures.get('alerts_unpublished'))}")
    family(
        "caselink_ingest_lag_seconds",
        "gauge",
        "Seconds since the tracker last ingested an event (NaN before the first).",
    )
    last = figures.get("last_event_received_at")
    # Clocks of two processes may differ by a little: a lag below zero reads as none.
    lag = max(now - last, 0.0) if isinstance(last, int | float) else math.nan
    lines.append(f"caselink_ingest_lag_seconds {_number(lag)}")
    family(
        "caselink_directory_serial",
        "gauge",
        "Serial of the newest agency directory accepted (an older one is refused).",
    )
    lines.append(f"caselink_directory_serial {_count(figures.get('directory_serial'))}")
    return "\n".join(lines) + "\n"


def ops_router(
    dash: Dashboard, consumer_alive: Callable[[], bool], metrics_token: str | None
) -> APIRouter:
    """GET /metrics (the metrics token) and GET /healthz (public: "ok" or "consumer_down")."""
    router = APIRouter(tags=["operations"])
    bearer = HTTPBearer(auto_error=False)

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={
            200: {"content": {CONTENT_TYPE: {}}},
            401: {"description": "no or wrong metrics token"},
            404: {"description": "no metrics token configured"},
        },
    )
    async def metrics(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> PlainTextResponse:
        """Open threads, overdue by agency and urgency, alerts raised and pending, ingest lag,
        the directory serial in force."""
        if metrics_token is None:
            raise HTTPException(404, "metrics are not enabled (metrics_token_file)")
        if credentials is None or not token_matches(credentials.credentials, metrics_token):
            raise HTTPException(
                401, "metrics token required", headers={"WWW-Authenticate": "Bearer"}
            )
        figures = await dash.store.metrics(dash.now())
        return PlainTextResponse(prometheus_text(figures, dash.clock()), media_type=CONTENT_TYPE)

    @router.get("/healthz", responses={503: {"model": Health}})
    async def healthz() -> JSONResponse:
        """200 while the tracker consumes its tap; 503 while that consumer is down."""
        if consumer_alive():
            return JSONResponse(Health(status="ok").model_dump())
        return JSONResponse(Health(status="consumer_down").model_dump(), status_code=503)

    return router


def _count(value: object) -> str:
    # bool is an int too, but a True count would be a bug upstream; it still prints as 1.
    return str(int(value)) if isinstance(value, int | float) else "0"


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(float(value))


def _label(value: object) -> str:
    # The text format's label escapes: backslash, double quote and newline.
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
