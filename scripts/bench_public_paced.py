#!/usr/bin/env python3
"""An open-loop paced load generator: requests at a fixed rate, latency from the intended time.

wrk waits for each response before its connection sends again, so when the server stalls it
sends less and the stall hides in few samples (coordinated omission); wrk2, which fixes that,
is not in Debian. Here request i is due at start + i / rate whatever has been answered: a
scheduler hands due requests to a pool of HTTP/1.1 keep-alive connections (asyncio streams,
requests encoded beforehand), and each latency runs from the request's due time to the end of
its response, so time spent waiting for a free connection counts, as a person would feel it.
The scheduler's own lateness is reported too (it shows whether the generator kept up), and so
is the CPU it used.

    .venv/bin/python scripts/bench_public_paced.py http://127.0.0.1:8000/healthz --rate 1000

scripts/bench_public.py uses `paced` on the public pages and on the bare app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


def encode(line: str, host: str) -> bytes:
    """One request of a bench line (METHOD, PATH, USER-AGENT, X-FORWARDED-FOR, BODY, by tab)."""
    method, path, agent, forwarded, body = (line.split("\t") + [""] * 5)[:5]
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if agent:
        head.append(f"User-Agent: {agent}")
    if forwarded:
        head.append(f"X-Forwarded-For: {forwarded}")
    data = body.encode()
    if method == "POST":
        head.append("Content-Type: application/x-www-form-urlencoded")
        head.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; its status, and whether the server closes the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    close = headers.get("connection") == "close"
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # no trailers are sent to us
    elif status >= 200 and status not in (204, 304):
        await reader.read()  # the body runs to the end of the connection
        close = True
    return status, close


@dataclass
class Run:
    """What one paced run saw; latencies in seconds from each request's due time."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lag: list[float] = field(default_factory=list)  # how late the scheduler handed each out
    backlog_max: int = 0  # due requests waiting for a free connection, at most
    last_answer: float = 0.0


async def _connection(
    host: str,
    port: int,
    requests: list[bytes],
    queue: asyncio.Queue[tuple[int, float] | None],
    run: Run,
) -> None:
    loop = asyncio.get_running_loop()
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while (item := await queue.get()) is not None:
        index, due = item
        try:
            if streams is None:
                streams = await asyncio.open_connection(host, port)
            reader, writer = streams
            writer.write(requests[index % len(requests)])
            status, close = await read_response(reader)
        except ERRORS as error:
            run.errors[type(error).__name__] += 1
            close, status = True, 0
        else:
            now = loop.time()
            run.latencies.append(now - due)
            run.statuses[status] += 1
            run.last_answer = max(run.last_answer, now)
        if close and streams is not None:
            streams[1].close()
            streams = None
    if streams is not None:
        streams[1].close()


async def _paced(
    url: str, requests: list[bytes], rate: float, duration: float, connections: int, drain: float
) -> tuple[Run, float, int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    run = Run()
    total = max(1, round(rate * duration))
    workers = [
        asyncio.create_task(_connection(host, port, requests, queue, run))
        for _ in range(connections)
    ]
    start = loop.time() + 0.1  # the pool's first connections open meanwhile
    sent = 0
    while sent < total:
        now = loop.time()
        due_now = min(total, int((now - start) * rate) + 1)
        while sent < due_now:
            due = start + sent / rate
            queue.put_nowait((sent, due))
            run.lag.append(now - due)
            sent += 1
        run.backlog_max = max(run.backlog_max, queue.qsize())
        if sent < total:
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    for _ in workers:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=drain)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return run, start, total


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest rank; 0 for no samples."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def paced(
    url: str,
    lines: list[str],
    *,
    rate: float,
    duration: float,
    connections: int = 64,
    drain: float = 30,
) -> dict[str, object]:
    """Send the lines (rotating) at `rate` requests/s for `duration` s over `connections`
    keep-alive connections; the figures in the bench's shape (milliseconds, counts)."""
    host = urlsplit(url).netloc
    requests = [encode(line, host) for line in lines]
    cpu = time.process_time()
    run, start, total = asyncio.run(_paced(url, requests, rate, duration, connections, drain))
    cpu = time.process_time() - cpu
    ordered = sorted(run.latencies)
    answered = len(ordered)
    lag = sorted(run.lag)
    span = max(run.last_answer - start, duration)
    statuses = run.statuses
    return {
        "target": rate,
        "rate": round(answered / span),
        "scheduled": total,
        "answered": answered,
        "unanswered": total - answered - sum(run.errors.values()),
        **{f"p{p}_ms": round(percentile(ordered, p) * 1000, 1) for p in (50, 90, 99)},
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "status_2xx": sum(n for s, n in statuses.items() if 200 <= s < 300),
        "status_429": statuses[429],
        "status_4xx": sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 429),
        "status_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "errors": dict(run.errors),
        "schedule_lag_p99_ms": round(percentile(lag, 99) * 1000, 2),
        "backlog_max": run.backlog_max,
        "generator_cpu_pct": round(100 * cpu / span),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="http://HOST:PORT/PATH, sent as GET")
    parser.add_argument("--rate", type=float, default=1000, help="requests/s")
    parser.add_argument("--duration", type=float, default=5, help="seconds")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    parts = urlsplit(args.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    result = paced(
        args.url,
        [f"GET\t{path}\t\t\t"],
        rate=args.rate,
        duration=args.duration,
        connections=args.connections,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
