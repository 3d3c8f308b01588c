"""Composition root of `caselink gateway`: settings into objects, then serve until stopped.

The only place that chooses the gateway's implementations: the SQL store, the aiormq
publisher and subscription (the broker port), the keys and directory from their files.
"""

import ssl
import time
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.subscription import QueueSubscription
from broker.app.garbage_collector import settle_startup_objects
from broker.app.http_server import run_http
from broker.gateway.adapter_port import AdapterContext, build_adapters
from broker.gateway.api import create_api
from broker.gateway.config import GatewaySettings
from broker.gateway.service import Gateway
from broker.gateway.users import GatewayUser
from broker.inbox import inbox_pages
from broker.keystore import load_agency_keys
from broker.live_directory import DirectoryFile
from broker.logs import configure_logging
from broker.store.gateway_store import SqlGatewayStore
from broker.topology.names import Topology


def build_gateway(
    settings: GatewaySettings, users: Mapping[str, GatewayUser] | None = None
) -> Gateway:
    """Everything the gateway needs, verified (directory) and loaded (keys); no connections.

    `users` (default: the users file's) names the supervisors who may authorise a sharing
    without consent.

    The store refuses a directory older than one accepted before, at start (see
    `broker.live_directory`), and the gateway follows the directory file while it runs.
    """
    keys = load_agency_keys(settings.key_file)
    if keys.agency_id != settings.agency_id:
        raise ValueError(f"key file belongs to {keys.agency_id}, not {settings.agency_id}")
    # The vhost is amqp_url's own; names at runtime depend on the user prefix alone.
    topology = Topology(user_prefix=settings.user_prefix)
    directory_file = DirectoryFile.at(settings.directory, settings.root_pub)
    # One context for both connections; with SASL EXTERNAL the client certificate's common
    # name must be the agency's user, which RabbitMQ then checks each message's user_id against.
    tls = settings.amqp_tls()
    return Gateway(
        keys=keys,
        directory=directory_file.load().trusted,
        directory_file=directory_file,
        directory_poll_s=settings.directory_poll_s,
        store=SqlGatewayStore(settings.store_url),
        publisher=ConfirmedPublisher(
            settings.amqp_url, user_id=topology.agency_user(settings.agency_id), tls=tls
        ),
        subscription=QueueSubscription(
            settings.amqp_url,
            topology.agency_queue(settings.agency_id),
            prefetch=settings.prefetch,
            tls=tls,
        ),
        topology=topology,
        publish_window=settings.publish_window,
        watchdog_interval_s=settings.watchdog_interval_s,
        retention_days=settings.retention_days,
        users=settings.users() if users is None else users,
    )


def build_app(settings: GatewaySettings, folder: Path) -> FastAPI:
    """The HTTP API, with the agency inbox pages, whose lifespan runs the gateway and its
    adapters; raises on bad keys, directory, users, metrics token, session secret or adapter
    tables. `folder`: the config file's."""
    gateway = build_gateway(settings)  # keys and directory first: their errors come first
    users = gateway.users
    context = AdapterContext(gateway=gateway, folder=folder, clock=time.time)
    return create_api(
        gateway,
        users,
        max_request_bytes=settings.max_request_bytes,
        metrics_token=settings.metrics_token(),
        adapters=build_adapters(settings.adapters, context),
        pages=inbox_pages(
            gateway,
            users,
            session_secret=settings.session_secret(),
            secure_cookie=settings.cookies_secure,
        ),
    )


def serve(app: FastAPI, settings: GatewaySettings, tls: ssl.SSLContext | None) -> None:
    """Run the gateway and its HTTP API until SIGINT/SIGTERM; over HTTPS with `tls`
    (`settings.server_tls()`, read before the app was built)."""
    configure_logging()
    settle_startup_objects()
    run_http(app, settings.api_host, settings.api_port, tls)
