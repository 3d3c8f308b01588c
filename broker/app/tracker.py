"""Composition root of `caselink tracker`: settings, store, service and dashboard together.

The only place that chooses the tracker's implementations: the SQL store, the aiormq
publisher and the subscriptions to the tap, its overflow and its lost queue (the broker
port), the header workers.
"""

import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.queue_gauge import AmqpQueueGauge
from broker.amqp.subscription import QueueSubscription
from broker.app.garbage_collector import settle_startup_objects
from broker.app.http_server import run_http
from broker.envelope import TrustedDirectory
from broker.live_directory import DirectoryFile
from broker.logs import configure_logging
from broker.store.tracker_store import SqlTrackerStore
from broker.topology.names import (
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    QueueLimits,
    Topology,
)
from broker.tracker.config import TrackerSettings
from broker.tracker.ledger import TrackerLedger
from broker.tracker.policy import DEFAULT_POLICY, SlaPolicy, parse_policy, require_calendars
from broker.tracker.service import TrackerService
from broker.tracker.verifier import HeaderVerifier, SignedDirectory
from broker.web.app import create_tracker_app
from broker.web.names import directory_names
from broker.web.users import load_users
from schemas.kinds import AgencyKind


def load_policy(settings: TrackerSettings, directory: TrustedDirectory | None = None) -> SlaPolicy:
    """The SLA policy file named in the settings, or the built-in defaults.

    With `directory`, raises PolicyError when the policy counts working days and one of its
    agencies that may be asked to act (every kind but coordinator) has no jurisdiction.
    """
    if settings.sla_policy is None:
        return DEFAULT_POLICY
    policy = parse_policy(settings.sla_policy.read_text())
    if directory is not None:
        actors = [
            a.id for a in directory.directory.agencies if a.kind is not AgencyKind.COORDINATOR
        ]
        require_calendars(policy, actors)
    return policy


def open_store(settings: TrackerSettings) -> SqlTrackerStore:
    """The tracker's store as configured (not yet migrated: `create()` does that)."""
    return SqlTrackerStore(settings.store_url)


def build_tracker_app(settings: TrackerSettings) -> FastAPI:
    """The dashboard app whose lifespan runs the tracker service beside it.

    The secret files are read first: one that others can read is refused before anything
    is opened or started (KeyFilePermissionError).
    """
    users = load_users(settings.users_file)
    session_secret = settings.session_secret()
    store = open_store(settings)
    # The vhost is amqp_url's own; names at runtime depend on the user prefix alone.
    topology = Topology(
        user_prefix=settings.user_prefix,
        limits=QueueLimits(dead_letters=settings.dead_letter_bound),
    )
    directory_file = DirectoryFile.at(settings.directory, settings.root_pub)
    loaded = directory_file.load()
    policy = load_policy(settings, loaded.trusted)
    tls = settings.amqp_tls()
    service = TrackerService(
        ledger=TrackerLedger(store, policy, settings.coordinators),
        verifier=HeaderVerifier(
            SignedDirectory(loaded.signed, loaded.root_public), workers=settings.verify_workers
        ),
        publisher=ConfirmedPublisher(settings.amqp_url, user_id=topology.tracker_user(), tls=tls),
        subscription=QueueSubscription(
            settings.amqp_url, TAP_QUEUE, prefetch=settings.prefetch, tls=tls
        ),
        overflow=QueueSubscription(
            settings.amqp_url, TAP_OVERFLOW_QUEUE, prefetch=settings.prefetch, tls=tls
        ),
        # One at a time: the lost queue keeps the latest missed message while one is reported.
        lost=QueueSubscription(settings.amqp_url, TAP_LOST_QUEUE, prefetch=1, tls=tls),
        topology=topology,
        sweep_interval_s=settings.sweep_interval_s,
        watchdog_interval_s=settings.watchdog_interval_s,
        directory_file=directory_file,
        directory_poll_s=settings.directory_poll_s,
        gauge=AmqpQueueGauge(settings.amqp_url, tls),
        dead_letter_look_s=settings.dead_letter_look_s,
    )
    app = create_tracker_app(
        store,
        users,
        session_secret=session_secret,
        clock=time.time,
        secure_cookie=settings.cookies_secure,
        consumer_alive=service.consumer_alive,
        metrics_token=settings.metrics_token(),
        # Names from the directory the service verified and follows, renewals included.
        agency_names=directory_names(lambda: service.directory.current),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app.router.lifespan_context = lifespan
    return app


def serve(app: FastAPI, settings: TrackerSettings, tls: ssl.SSLContext | None) -> None:
    """Run the tracker and its dashboard until SIGINT/SIGTERM; over HTTPS with `tls`
    (`settings.server_tls()`, read before the app was built)."""
    configure_logging()
    settle_startup_objects()
    run_http(app, settings.host, settings.port, tls)
