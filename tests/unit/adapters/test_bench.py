"""bench/adapters.py runs, in a few seconds, to its last line (figures are not checked)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_adapter_benchmark_runs_to_its_ratio() -> None:
    done = subprocess.run(
        [sys.executable, "bench/adapters.py", "--rounds", "1", "--iterations", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    for adapter in ("health", "police", "social", "education"):
        assert any(line.startswith(f"{adapter}: edge ") for line in lines), done.stdout
    assert re.fullmatch(r"adapter_overhead_ratio \d+\.\d{3}", lines[-1]), done.stdout
