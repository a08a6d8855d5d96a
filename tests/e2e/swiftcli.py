"""The `swift` CLI (python-swiftclient) as the object storage end-to-end modules run it."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import VENV

SWIFT = VENV / "bin" / "swift"
SWIFT_TIMEOUT = 120.0  # one `swift` call; the 64 MiB uploads take a few seconds
LISTING_TIMEOUT = 10.0  # `swift list` pages until an empty page: a server that repeats a page never ends


# --------------------------------------------------------------------------------------------
# The swift CLI


def md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_stat(text: str) -> dict[str, str]:
    """`swift stat` prints `Key: value` lines, right-aligned keys."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass
class Swift:
    """`swift ARGS` with one user's OS_* environment (built from scratch by the fixtures)."""

    env: dict[str, str]

    def run(self, *args: str, check: bool = True, cwd: Path | None = None,
            timeout: float = SWIFT_TIMEOUT) -> subprocess.CompletedProcess[str]:
        try:
            p = subprocess.run([str(SWIFT), *args], env=self.env, cwd=cwd, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            p = None
        if p is None:
            lines = out.splitlines()
            pytest.fail(f"`swift {shlex.join(args)}` still running after {timeout:.0f} s (killed); "
                        f"it printed {len(lines)} lines, the first ones: {lines[:12]}")
        if check:
            assert p.returncode == 0, (f"`swift {shlex.join(args)}` exited {p.returncode}\n"
                                       f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def fails(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        p = self.run(*args, check=False, cwd=cwd)
        assert p.returncode != 0, f"`swift {shlex.join(args)}` unexpectedly succeeded\nstdout: {p.stdout}"
        return p

    def list(self, *args: str) -> list[str]:
        return self.run("list", *args, timeout=LISTING_TIMEOUT).stdout.splitlines()

    def stat(self, *args: str) -> dict[str, str]:
        return parse_stat(self.run("stat", *args).stdout)

    def with_env(self, **extra: str) -> "Swift":
        return Swift({**self.env, **extra})
