"""The tracker's tables (SQLAlchemy Core). Migrations create them; this is what code queries.

Keep in step with `migrations/tracker/`: a test compares the migrated schema to this one.
Columns hold ids, categories and times only: the tracker never sees a body. Event times
are integer Unix seconds from the signed headers; the tracker's own clock (received_at,
updated_at, raised_at, published_at, claimed_until, page views, sessions, sign-ins) is
float Unix seconds.
Sessions keep only the hash of their id; the sign-in log never a password.
"""

import sqlalchemy as sa

from broker.store.directory_serials import directory_table
from broker.store.gateway_tables import AGENCY, ID, WORD
from broker.store.session_rows import session_table
from broker.tracker.access import ADDRESS_CHARS, FILTER_CHARS, NAME_CHARS
from broker.tracker.records import LEASE_HOLDER_CHARS

ALERT_KEY = 255  # planned key (thread, recipient, reason, level, audience) + addressee
ROUTING_KEY = 255
USER = 128
VIEW = 64
BASIS = 64  # lawful basis slugs: child_protection_significant_harm is 33 characters

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("message_id", sa.String(ID), primary_key=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("kind", sa.String(WORD), nullable=False),
    sa.Column("sender", sa.String(AGENCY), nullable=False),
    sa.Column("recipient", sa.String(AGENCY), nullable=False),
    sa.Column("status", sa.String(WORD), nullable=True),
    sa.Column("in_reply_to", sa.String(ID), nullable=True),
    sa.Column("urgency", sa.String(WORD), nullable=True),
    sa.Column("respond_by", sa.BigInteger(), nullable=True),
    sa.Column("issued_at", sa.BigInteger(), nullable=False),
    sa.Column("received_at", sa.Double(), nullable=False),
    # The lawful basis of a referral or transfer sent without consent (a category).
    sa.Column("basis", sa.String(BASIS), nullable=True),
    # A thread is refolded from all its events; the timeline reads them too.
    sa.Index("ix_events_thread_id", "thread_id"),
    # metrics: the last event's arrival, for ingest lag.
    sa.Index("ix_events_received_at", "received_at"),
)

threads = sa.Table(
    "threads",
    metadata,
    sa.Column("thread_id", sa.String(ID), primary_key=True),
    sa.Column("phase", sa.String(WORD), nullable=False),
    sa.Column("kind", sa.String(WORD), nullable=True),
    sa.Column("sender", sa.String(AGENCY), nullable=True),
    sa.Column("urgency", sa.String(WORD), nullable=True),
    sa.Column("opened_at", sa.BigInteger(), nullable=True),
    sa.Column("respond_by", sa.BigInteger(), nullable=True),
    sa.Column("delivered_at", sa.BigInteger(), nullable=True),
    sa.Column("responded_at", sa.BigInteger(), nullable=True),
    sa.Column("closed_at", sa.BigInteger(), nullable=True),
    sa.Column("responsibility", sa.String(AGENCY), nullable=True),
    sa.Column("legs", sa.Text(), nullable=False),
    sa.Column("current_deadline", sa.BigInteger(), nullable=True),
    sa.Column("next_check_at", sa.BigInteger(), nullable=True),
    sa.Column("updated_at", sa.Double(), nullable=False),
    # The first opening message the tracker received of the thread: the fold's original,
    # whatever a later message claims as its issue time (broker.tracker.parties).
    sa.Column("opener_id", sa.String(ID), nullable=True),
    # The agencies that may speak in the thread, fixed in arrival order (a JSON list, sorted):
    # a message from any other is refused for it. Only ever added to; read by ingest under
    # the thread's lock and written with the folded row, one write per thread.
    sa.Column("parties", sa.Text(), nullable=False, server_default="[]"),
    # Bumped by every refold: a sweep computed from an older fold must not overwrite it.
    sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
    # Its original's lawful basis when sent without consent: the flagged list reads these.
    sa.Column("basis", sa.String(BASIS), nullable=True),
    # The dashboard's lateness order: `unanswered` reads the first page straight off it.
    sa.Index("ix_threads_current_deadline", "current_deadline", "thread_id"),
    # The sweep's index; most threads are closed (NULL), so only the live ones are kept.
    sa.Index(
        "ix_threads_next_check_at",
        "next_check_at",
        "thread_id",
        sqlite_where=sa.text("next_check_at IS NOT NULL"),
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    ),
    # transfers_in_limbo, consent_withdrawals_pending, declined: one phase set, by time.
    sa.Index("ix_threads_phase_opened_at", "phase", "opened_at"),
    # transfers_taken: the transfers among accepted and completed threads, newest answer first.
    sa.Index("ix_threads_kind_phase_responded_at", "kind", "phase", "responded_at"),
    # accepted (not done): the oldest acceptance first (only accepted threads have an outcome).
    sa.Index("ix_threads_phase_responded_at", "phase", "responded_at", "thread_id"),
    # shared_without_consent, newest first: only the flagged threads are indexed.
    sa.Index(
        "ix_threads_basis_opened_at",
        "opened_at",
        "thread_id",
        sqlite_where=sa.text("basis IS NOT NULL"),
        postgresql_where=sa.text("basis IS NOT NULL"),
    ),
)

thread_agencies = sa.Table(
    "thread_agencies",
    metadata,
    sa.Column("thread_id", sa.String(ID), primary_key=True),
    sa.Column("agency", sa.String(AGENCY), primary_key=True),
    sa.Column("role", sa.String(WORD), primary_key=True),  # sender | recipient
    # A recipient's own earliest unmet deadline (NULL once met, and for the sender): one
    # slow recipient of a consent withdrawal is overdue without blaming the others.
    sa.Column("current_deadline", sa.BigInteger(), nullable=True),
    # The `involving` and `agency` filters, per-agency figures and overdue metrics.
    sa.Index("ix_thread_agencies_agency", "agency", "role", "thread_id"),
)

refused_events = sa.Table(
    "refused_events",
    metadata,
    # Messages kept out of a thread (sender not a party): the clear header's facts and why.
    sa.Column("message_id", sa.String(ID), primary_key=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("kind", sa.String(WORD), nullable=False),
    sa.Column("sender", sa.String(AGENCY), nullable=False),
    sa.Column("recipient", sa.String(AGENCY), nullable=False),
    sa.Column("status", sa.String(WORD), nullable=True),
    sa.Column("issued_at", sa.BigInteger(), nullable=False),
    sa.Column("received_at", sa.Double(), nullable=False),
    sa.Column("reason", sa.String(WORD), nullable=False),
    sa.Index("ix_refused_events_thread_id", "thread_id"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    # Unique per addressee: two trackers inserting the same alert record it once.
    sa.Column("key", sa.String(ALERT_KEY), primary_key=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("level", sa.String(WORD), nullable=False),
    sa.Column("reason", sa.String(WORD), nullable=False),
    sa.Column("agency", sa.String(AGENCY), nullable=False),
    sa.Column("alert_json", sa.Text(), nullable=False),
    sa.Column("routing_key", sa.String(ROUTING_KEY), nullable=False),
    sa.Column("raised_at", sa.Double(), nullable=False),
    sa.Column("published_at", sa.Double(), nullable=True),
    # The relay publishing it now and until when (its lease): another relay leaves it alone
    # until then. Stale once published; NULL before any claim.
    sa.Column("claimed_by", sa.String(LEASE_HOLDER_CHARS), nullable=True),
    sa.Column("claimed_until", sa.Double(), nullable=True),
    # The keys already recorded for a thread: the sweep and the refold pass them on.
    sa.Index("ix_alerts_thread_id", "thread_id"),
    # The publisher's queue: only unpublished alerts are indexed, oldest first.
    sa.Index(
        "ix_alerts_unpublished",
        "raised_at",
        "key",
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    ),
)

page_views = sa.Table(
    "page_views",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),  # SQLite: the rowid alias
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("user", sa.String(USER), nullable=False),
    # NULL for lists, figures and exports: they record their filter instead.
    sa.Column("thread_id", sa.String(ID), nullable=True),
    sa.Column("at", sa.Double(), nullable=False),
    # <surface>:<subject>, e.g. page:unanswered, export:agencies, api:thread.
    sa.Column("view", sa.String(VIEW), nullable=False, server_default="thread"),
    sa.Column("filter", sa.String(FILTER_CHARS), nullable=False, server_default=""),
    sa.Index("ix_page_views_thread_id_at", "thread_id", "at"),
    # The view log, newest first.
    sa.Index("ix_page_views_at", "at"),
)

dashboard_sessions = session_table("dashboard_sessions", metadata, user_chars=USER)

sign_ins = sa.Table(
    "sign_ins",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("name", sa.String(NAME_CHARS), nullable=False),  # as typed, cut to NAME_CHARS
    sa.Column("address", sa.String(ADDRESS_CHARS), nullable=False),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("outcome", sa.String(WORD), nullable=False),
    sa.Column("method", sa.String(WORD), nullable=False),
    # The sign-in log, newest first.
    sa.Index("ix_sign_ins_at", "at"),
)

# The highest directory serial the tracker (any tracker on this database) accepted.
tracker_directory = directory_table("tracker_directory", metadata)
