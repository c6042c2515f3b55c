"""Shared pieces of the benchmarks: a DynamoDB endpoint, servers in subprocesses, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import local_dynamodb  # noqa: E402

local_dynamodb.use_fake_aws_credentials()


def endpoint(backend: str) -> tuple[str, str, Callable[[], None]]:
    """A DynamoDB endpoint: (name, url, stop). DynamoDB Local when asked for and available, else moto."""
    if backend == "dynamodb-local" and hasattr(local_dynamodb, "start_dynamodb_local"):
        try:
            url, stop = local_dynamodb.start_dynamodb_local()
            return "DynamoDB Local", url, stop
        except Exception as exc:  # fall back, and say so in the report
            print(f"DynamoDB Local unavailable ({exc}); using moto", file=sys.stderr)
    url, stop = local_dynamodb.start_moto()
    return "moto server", url, stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``health`` answers 200."""
    process = subprocess.Popen(
        argv, env=os.environ | env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{argv} exited with {process.returncode}")
        try:
            if requests.get(health, timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{argv} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def peak_rss_mb(pid: int) -> float:
    """The peak resident set (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
