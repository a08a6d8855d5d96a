"""What the bench scripts share: latency summaries and stopping a child process."""

from __future__ import annotations

import math
import statistics
import subprocess
from typing import Any


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, Any]:
    """p50, p99, min, max and every value, in seconds rounded to milliseconds."""
    return {"p50": round(statistics.median(values), 3), "p99": round(percentile(values, 99), 3),
            "min": round(min(values), 3), "max": round(max(values), 3), "all": [round(v, 3) for v in values]}


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ends a child this script started, by its PID: SIGTERM, then SIGKILL after 5 s."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
