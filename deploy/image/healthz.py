#!/usr/bin/env python3
"""The image's health check: `caselink-healthz URL` exits 0 when URL answers 200.

A gateway's or the dashboard's /healthz answers 503 while it is degraded (publishes
failing, consumer down), so a degraded process is reported unhealthy. `tcp://HOST:PORT`
checks only that something listens there: the notifier serves no HTTP, and its check is
that its broker can be reached.
"""

import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_S = 3.0


def healthy(url: str) -> bool:
    if url.startswith("tcp://"):
        parts = urlsplit(url)
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT_S):
                return True
        except OSError:
            return False
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:  # noqa: S310 (our URL)
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: caselink-healthz URL")
    sys.exit(0 if healthy(sys.argv[1]) else 1)
