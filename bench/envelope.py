"""Envelope overhead: seal + open of a ~2 KiB referral against the raw primitives it uses.

For each suite the baseline is, on the same sizes and the same key objects: HPKE encrypt +
decrypt of the padded plaintext with an info of the same length, and Ed25519 sign + verify
of a message as long as the real signed input. Envelope and baseline runs are interleaved
operation by operation (so both meet the same cache state and CPU frequency), and each
figure is the minimum over rounds of the per-round median. The primitives alone in a hot
loop are printed for reference: they run faster than they ever do in a gateway, because
nothing else competes for the caches. The last line is `envelope_overhead_ratio <value>` for the default suite.

Run: .venv/bin/python bench/envelope.py [--rounds N] [--iterations N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from broker.envelope import (  # noqa: E402
    AgencyKeys,
    RootKey,
    build_directory,
    decode_envelope,
    open_envelope,
    seal,
    verify_directory,
)
from broker.envelope.binding import hpke_info, signed_input  # noqa: E402
from broker.envelope.suites import SUITES  # noqa: E402
from schemas.examples import THREAD_ID, example_body  # noqa: E402
from schemas.kinds import AgencyKind, MessageKind, Suite  # noqa: E402

NOW = 1_750_000_000


def _mean_us(fn: Callable[[], object], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the envelope path")
    args = parser.parse_args()

    root = RootKey.generate(now=NOW)
    sender = AgencyKeys.generate("police-north", now=NOW)
    recipient = AgencyKeys.generate("health-east", now=NOW)
    directory = verify_directory(
        build_directory(
            [
                sender.public_entry(AgencyKind.POLICE, "Police North"),
                recipient.public_entry(AgencyKind.HEALTH, "Health East"),
            ],
            root,
            NOW,
        ),
        root.public(),
    )
    body = example_body(MessageKind.REFERRAL)
    body_len = len(body.model_dump_json().encode("utf-8"))
    print(f"referral body: {body_len} bytes of JSON")

    ratios: dict[Suite, float] = {}
    for suite in (Suite.X25519, Suite.MLKEM768_X25519):
        spec = SUITES[suite]

        def envelope(suite: Suite = suite) -> object:
            raw = seal(
                body,
                kind=MessageKind.REFERRAL,
                sender=sender,
                recipient="health-east",
                directory=directory,
                now=NOW,
                thread_id=THREAD_ID,
                suite=suite,
            )
            return open_envelope(raw, keys=recipient, directory=directory, now=NOW)

        # The baseline works on exactly the sizes the envelope produced.
        sample = decode_envelope(
            seal(
                body,
                kind=MessageKind.REFERRAL,
                sender=sender,
                recipient="health-east",
                directory=directory,
                now=NOW,
                thread_id=THREAD_ID,
                suite=suite,
            )
        )
        padded = os.urandom(len(sample.ciphertext) - spec.enc_len - 16)
        info = hpke_info(sample.header_json)
        message = os.urandom(len(signed_input(sample.header_json, sample.ciphertext)))
        enc_key = recipient.encryption[suite]
        enc_public = directory.key(enc_key.kid).enc_public  # type: ignore[union-attr]
        sig_private = sender.signing.private
        sig_public = directory.key(sender.signing.kid).sig_public  # type: ignore[union-attr]

        def primitives(
            spec_hpke: object = spec.hpke,
            enc_public: object = enc_public,
            enc_private: object = enc_key.private,
            sig_public: object = sig_public,
        ) -> object:
            ct = spec.hpke.encrypt(padded, enc_public, info=info)  # type: ignore[arg-type]
            spec.hpke.decrypt(ct, enc_private, info=info)  # type: ignore[arg-type]
            sig_public.verify(sig_private.sign(message), message)  # type: ignore[attr-defined]
            return ct

        for _ in range(20):  # warm caches before timing
            envelope()
            primitives()
        env_runs, base_runs, hot_runs = [], [], []
        for _ in range(args.rounds):
            env_times, base_times = [], []
            # Interleaved per operation: each primitive run follows an envelope run, so both
            # meet the same cache state, as the primitives do inside a real gateway.
            for _ in range(args.iterations):
                start = time.perf_counter()
                envelope()
                middle = time.perf_counter()
                primitives()
                env_times.append(middle - start)
                base_times.append(time.perf_counter() - middle)
            env_runs.append(statistics.median(env_times) * 1e6)
            base_runs.append(statistics.median(base_times) * 1e6)
            # For reference: the primitives alone in a hot loop (warm caches, no envelope).
            hot_runs.append(_mean_us(primitives, args.iterations))
        env_us, base_us, hot_us = min(env_runs), min(base_runs), min(hot_runs)
        ratios[suite] = env_us / base_us
        print(
            f"{suite.value}: seal+open {env_us:.1f} us, primitives {base_us:.1f} us, "
            f"overhead {env_us - base_us:.1f} us, ratio {ratios[suite]:.3f}; "
            f"primitives in a hot loop {hot_us:.1f} us (ratio {env_us / hot_us:.3f}); "
            f"padded plaintext {len(padded)} B, signed input {len(message)} B, "
            f"ciphertext {len(sample.ciphertext)} B"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [envelope() for _ in range(2000)])
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

    print(f"envelope_overhead_ratio {ratios[Suite.MLKEM768_X25519]:.3f}")


if __name__ == "__main__":
    main()
