"""The route that serves the shared static files, for both apps (FastAPI: kept apart from
`broker.look.pages`, which the notifier imports without a web framework)."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response

from broker.look.pages import STATIC_FILES, static_file


def static_router() -> APIRouter:
    """GET /static/<name> for each shared file, read once, here: served from /static (not
    inline) so that the CSP can forbid inline code and style."""
    router = APIRouter(include_in_schema=False)
    for name, media_type in STATIC_FILES.items():
        router.get(f"/static/{name}")(_served(static_file(name), media_type))
    return router


def _served(body: bytes, media_type: str) -> Callable[[], Awaitable[Response]]:
    async def endpoint() -> Response:
        return Response(body, media_type=media_type)

    return endpoint
