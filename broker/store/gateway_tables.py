"""The gateway's tables (SQLAlchemy Core). Migrations create them; this is what code queries.

Keep in step with `migrations/gateway/`: a test compares the migrated schema to this one.
Times are float Unix seconds. Columns hold ids, categories, times, user names and addresses
only, except `inbox.envelope` and `outbox.envelope`, sealed bytes (encrypted to this agency's
key, and to the recipient's), and `consents.sealed` (the consent body, sealed to this
agency's own key): no column holds a decrypted body. An erased body is NULL with
`erased_at`.
"""

import sqlalchemy as sa

from broker.store.directory_serials import directory_table
from broker.store.session_rows import session_table

ID = 64  # message and thread ids are 36-character UUIDs; room for other id formats
AGENCY = 64  # agency slugs are at most 32 characters
WORD = 32  # kinds, statuses, states, urgencies
KEY = 128  # an Idempotency-Key (the API refuses longer ones)
HASH = 64  # hex SHA-256
USER = 64  # user names (broker.people.names)
ADDRESS = 64  # IP addresses: an IPv6 address is at most 45 characters
# An id column that counts up: the rowid alias on SQLite, BIGINT elsewhere.
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("message_id", sa.String(ID), primary_key=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("kind", sa.String(WORD), nullable=False),
    sa.Column("recipient", sa.String(AGENCY), nullable=False),
    sa.Column("routing_key", sa.String(255), nullable=False),
    sa.Column("envelope", sa.LargeBinary(), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("in_reply_to", sa.String(ID), nullable=True),
    sa.Column("status", sa.String(WORD), nullable=True),
    sa.Column("urgency", sa.String(WORD), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double(), nullable=False, server_default="0"),
    sa.Column("sent_at", sa.Double(), nullable=True),
    sa.Column("erased_at", sa.Double(), nullable=True),
    # The signed-in user who sent it or whose answer it is (None: the gateway itself).
    sa.Column("author", sa.String(USER), nullable=True),
    # The consent a referral or transfer cited: its withdrawal is sent to these recipients.
    sa.Column("consent_ref", sa.String(ID), nullable=True),
    # `due` filters on sent_at IS NULL and next_attempt_at <= now.
    sa.Index("ix_outbox_due", "sent_at", "next_attempt_at"),
    # `sent` pages through non-acknowledgements, newest first.
    sa.Index("ix_outbox_kind_created", "kind", "created_at"),
    # A sent message's status reads this agency's own answers to it (a withdrawal).
    sa.Index("ix_outbox_in_reply_to", "in_reply_to"),
    # Erasure: a thread's bodies; the retention sweep's oldest unerased ones.
    sa.Index("ix_outbox_thread_id", "thread_id"),
    sa.Index("ix_outbox_erased_created", "erased_at", "created_at"),
    sa.Index("ix_outbox_consent_ref", "consent_ref"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("message_id", sa.String(ID), primary_key=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("kind", sa.String(WORD), nullable=False),
    sa.Column("sender", sa.String(AGENCY), nullable=False),
    sa.Column("header_json", sa.Text(), nullable=False),
    sa.Column("received_at", sa.Double(), nullable=False),
    sa.Column("in_reply_to", sa.String(ID), nullable=True),
    sa.Column("status", sa.String(WORD), nullable=True),
    sa.Column("urgency", sa.String(WORD), nullable=True),
    sa.Column("state", sa.String(WORD), nullable=False),
    sa.Column("envelope", sa.LargeBinary(), nullable=True),
    sa.Column("erased_at", sa.Double(), nullable=True),
    # An answer's reason category (a closed vocabulary), never its text: gateway_0006.
    sa.Column("reason_category", sa.String(WORD), nullable=True),
    # Answers to our sent messages, and withdrawals of received ones, are found by this.
    sa.Index("ix_inbox_in_reply_to", "in_reply_to"),
    # `inbox` pages newest first, optionally by state.
    sa.Index("ix_inbox_received_at", "received_at"),
    sa.Index("ix_inbox_state_received_at", "state", "received_at"),
    sa.Index("ix_inbox_thread_id", "thread_id"),
    sa.Index("ix_inbox_erased_received", "erased_at", "received_at"),
)

# Who erased which thread's bodies, when, and how many: never what they said.
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("erased_at", sa.Double(), nullable=False),
    sa.Column("erased_by", sa.String(AGENCY), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Index("ix_erasures_thread_id", "thread_id"),
)

# Idempotency-Keys of submissions, kept a day: a hash of the request, never the request.
submission_keys = sa.Table(
    "submission_keys",
    metadata,
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("request_hash", sa.String(HASH), nullable=False),
    sa.Column("message_id", sa.String(ID), nullable=False),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Index("ix_submission_keys_created_at", "created_at"),
)

# The highest directory serial this gateway accepted: an older directory is refused.
gateway_directory = directory_table("gateway_directory", metadata)

# Every opening of a received body for a reader (Gateway.read), written in the transaction
# that fetches the body. Who, when and where: never content.
reads = sa.Table(
    "reads",
    metadata,
    sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(ID), nullable=False),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("reader", sa.String(USER), nullable=False),
    sa.Column("channel", sa.String(WORD), nullable=False),
    sa.Column("at", sa.Double(), nullable=False),
    # A supervisor lists a thread's reads, oldest first.
    sa.Index("ix_reads_thread_at", "thread_id", "at"),
)

# Sign-ins to the HTTP API, succeeded and failed; never a password or a token.
sign_ins = sa.Table(
    "sign_ins",
    metadata,
    sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("address", sa.String(ADDRESS), nullable=False),
    sa.Column("method", sa.String(WORD), nullable=False),
    sa.Column("outcome", sa.String(WORD), nullable=False),
    sa.Column("name", sa.String(USER), nullable=True),  # None: a name nobody holds
    # The log pages newest first.
    sa.Index("ix_sign_ins_at", "at"),
)

# The consent register: scope, dates and state in clear (the sending rules read them), the
# body sealed to this agency's own key (it names the child and who consented). Scope lists
# are JSON arrays of ids and categories.
consents = sa.Table(
    "consents",
    metadata,
    sa.Column("consent_id", sa.String(ID), primary_key=True),
    sa.Column("status", sa.String(WORD), nullable=False),
    sa.Column("valid_from", sa.Date(), nullable=False),
    sa.Column("valid_until", sa.Date(), nullable=False),
    sa.Column("agencies", sa.Text(), nullable=False),
    sa.Column("agency_kinds", sa.Text(), nullable=False),
    sa.Column("purposes", sa.Text(), nullable=False),
    sa.Column("data_categories", sa.Text(), nullable=False),
    sa.Column("giver", sa.String(WORD), nullable=False),
    sa.Column("recorded_at", sa.Double(), nullable=False),
    sa.Column("recorded_by", sa.String(USER), nullable=False),
    sa.Column("withdrawn_at", sa.Double(), nullable=True),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    # The register pages latest first.
    sa.Index("ix_consents_recorded_at", "recorded_at"),
)

# Sessions of the people signed in to the inbox pages by the form (broker.people.sessions):
# the hash of each session id, never the id.
sessions = session_table("sessions", metadata, user_chars=USER)
