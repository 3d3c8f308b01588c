"""Header checks in worker processes, so that the tracker's event loop only receives and stores.

Checking a header's signature is most of the intake's CPU (Ed25519 over the header and
ciphertext, about 0.13 ms each here). cryptography releases the GIL while it verifies, but a
verifying thread has to win the GIL back from a busy event loop after every signature, and
on these VMs that hand-over costs as much as it saves (measured: no gain). A worker process
fed a whole batch at a time really runs beside the event loop.

A worker trusts the directory the same way the service does: it verifies the signed
document against the root public key itself, from bytes handed over at its start. A newer
directory (`use_directory`) gets new workers; the old ones finish their batch and stop.
"""

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass

from broker.envelope import (
    EnvelopeError,
    RootPublicKey,
    TrustedDirectory,
    verify_directory,
    verify_header,
)
from broker.logs import get_logger
from broker.tracker.events import TrackedEvent, event_from_header

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SignedDirectory:
    """The signed directory and the root public key, as bytes that can cross processes."""

    signed: bytes
    root_public: bytes

    def trust(self) -> TrustedDirectory:
        """Verify the document against the root key; raises DirectoryError when refused."""
        return verify_directory(self.signed, RootPublicKey.from_bytes(self.root_public))


@dataclass(frozen=True, slots=True)
class RefusedHeader:
    """Why a header was refused, and its ids (untrusted: only log them if well formed)."""

    reason: str
    message_id: str | None
    sender: str | None


HeaderCheck = TrackedEvent | RefusedHeader


def check_headers(
    envelopes: Sequence[bytes], directory: TrustedDirectory, now: int
) -> list[HeaderCheck]:
    """Per envelope, in order: the event its verified header describes, or why it was refused."""
    checks: list[HeaderCheck] = []
    for envelope in envelopes:
        try:
            header = verify_header(envelope, directory=directory, now=now)
        except EnvelopeError as error:
            checks.append(RefusedHeader(error.reason, error.message_id, error.sender))
        else:
            checks.append(event_from_header(header))
    return checks


# A worker process's own copy, set once by _start_worker.
_worker_directory: TrustedDirectory | None = None


def _start_worker(source: SignedDirectory) -> None:
    global _worker_directory
    _worker_directory = source.trust()


def _check_in_worker(envelopes: list[bytes], now: int) -> list[HeaderCheck]:
    if _worker_directory is None:
        raise RuntimeError("header worker started without its directory")
    return check_headers(envelopes, _worker_directory, now)


class HeaderVerifier:
    """Checks batches of envelopes in `workers` processes; start a new pool if one dies."""

    def __init__(self, source: SignedDirectory, *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("a header verifier needs at least one worker process")
        self.directory = source.trust()  # refuse a bad directory here, not in every worker
        self._source = source
        self._workers = workers
        self._pool = self._new_pool()

    def use_directory(self, source: SignedDirectory, trusted: TrustedDirectory) -> None:
        """Check every later batch against `source` (verified: `trusted`) in new workers.

        A batch already handed to the old workers finishes there; they stop after it.
        """
        old, self._source, self.directory = self._pool, source, trusted
        self._pool = self._new_pool()
        old.shutdown(wait=False)

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the service has threads (SQLite, uvicorn) that fork would copy
        # mid-flight.
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._source,),
        )

    async def check(self, envelopes: Sequence[bytes], now: int) -> list[HeaderCheck]:
        """`check_headers` in the workers, the batch split evenly between them."""
        try:
            return await self._check(envelopes, now)
        except BrokenExecutor:
            # A worker died (killed, out of memory): the batch is untouched, so start a
            # fresh pool and check it again; a second failure is the caller's to handle.
            log.warning("header worker lost; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return await self._check(envelopes, now)

    async def _check(self, envelopes: Sequence[bytes], now: int) -> list[HeaderCheck]:
        if not envelopes:
            return []
        loop, pool = asyncio.get_running_loop(), self._pool  # one directory for the batch
        size = -(-len(envelopes) // self._workers)
        parts = [list(envelopes[i : i + size]) for i in range(0, len(envelopes), size)]
        done = await asyncio.gather(
            *(loop.run_in_executor(pool, _check_in_worker, part, now) for part in parts)
        )
        return [check for part in done for check in part]

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (none until the first batch starts them)."""
        return list(self._pool._processes or {})  # the executor offers no public accessor

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(wait=True, cancel_futures=True)
