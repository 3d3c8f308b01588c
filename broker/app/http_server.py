"""Serve a web app with uvicorn, over HTTPS when a TLS context is given."""

import ssl

import uvicorn
from fastapi import FastAPI


def run_http(app: FastAPI, host: str, port: int, tls: ssl.SSLContext | None) -> None:
    """Serve `app` on host:port until SIGINT/SIGTERM; with `tls`, HTTPS only.

    `tls` is the context broker.tls.server checked before anything started: uvicorn takes it
    as it is rather than loading the files again with its own defaults. Requests then have
    the scheme https, which is what adds HSTS (broker.http_edge.security_headers).
    """
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ssl_context_factory=None if tls is None else (lambda _config, _default: tls),
    )
