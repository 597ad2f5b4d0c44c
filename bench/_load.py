"""A light HTTP/1.1 load client for the benchmarks: raw asyncio streams, one keep-alive
connection per client, hand-built requests, and only the status line, the headers and a
Content-Length (or chunked) body parsed. Also the same interface over an ASGI app in-process,
and the closed-loop and fixed-count runners with their percentile summaries.

Not a general HTTP client: no TLS, no redirects, no pipelining; cookies are kept by name only.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

FORM = "application/x-www-form-urlencoded"


@dataclass
class Response:
    """What came back: status, headers (lower-case names, in order) and the body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Requester(Protocol):
    cookies: dict[str, str]

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response: ...


def keep_cookies(jar: dict[str, str], headers: list[tuple[str, str]]) -> None:
    """Apply the response's Set-Cookie headers to ``jar`` (name → value)."""
    for name, value in headers:
        if name != "set-cookie":
            continue
        pair, _, attrs = value.partition(";")
        key, _, val = pair.strip().partition("=")
        if not val or "max-age=0" in attrs.lower().replace(" ", ""):
            jar.pop(key, None)
        else:
            jar[key] = val


class Client:
    """One keep-alive HTTP/1.1 connection to host:port, with its own cookie jar."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_line = f"Host: {host}:{port}\r\n".encode()

    async def connect(self) -> None:
        await self.close()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        if self._reader is None or self._reader.at_eof():
            await self.connect()
        assert self._reader is not None and self._writer is not None
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self._host_line]
        if self.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            head.append(f"Cookie: {jar}\r\n".encode())
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}\r\n".encode())
        if body or method not in ("GET", "HEAD"):
            head.append(f"Content-Length: {len(body)}\r\n".encode())
        head.append(b"\r\n")
        try:
            self._writer.write(b"".join(head) + body)
            resp, close = await self._read(self._reader, method)
        except BaseException:
            await self.close()  # a half-read response would poison the next one
            raise
        if close:
            await self.close()
        keep_cookies(self.cookies, resp.headers)
        return resp

    @staticmethod
    async def _read(reader: asyncio.StreamReader, method: str) -> tuple[Response, bool]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = close = False
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers.append((name, value))
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")  # no trailers expected
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body, close = await reader.read(), True
        return Response(status, headers, body), close


class AsgiClient:
    """The same interface as Client, calling an ASGI app in this thread (for profiling)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        raw = [(b"host", b"127.0.0.1")]
        if self.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            raw.append((b"cookie", jar.encode()))
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        out: dict[str, Any] = {"status": 0, "headers": [], "body": []}

        async def receive() -> dict[str, Any]:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
                out["headers"] = [
                    (k.decode("latin-1").lower(), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                out["body"].append(message.get("body", b""))

        await self.app(scope, receive, send)
        resp = Response(out["status"], out["headers"], b"".join(out["body"]))
        keep_cookies(self.cookies, resp.headers)
        return resp


# --- runners and figures ---------------------------------------------------------------------


@dataclass
class Phase:
    """Latencies (seconds) of the measured requests, failures by kind, and the wall time."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    completed: int = 0  # warm-up included

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        n = len(lat)
        return {
            "requests": n,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "rps": n / self.wall if self.wall else 0.0,
            "median_ms": percentile(lat, 50) * 1e3,
            "p95_ms": percentile(lat, 95) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3,
            "max_ms": (lat[-1] if lat else math.nan) * 1e3,
        }


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (NaN when empty)."""
    if not ordered:
        return math.nan
    k = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[min(k, len(ordered) - 1)]


Work = Callable[[], Awaitable[int]]


async def closed_loop(workers: Sequence[Work], seconds: float, warmup: float) -> Phase:
    """Each worker sends its next request as soon as the last one is answered (no think time).

    Requests that start during the warm-up are sent but not counted; rps is counted over the
    time from the end of the warm-up to the last counted answer.
    """
    phase = Phase()
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + seconds
    last = measure_from

    async def run(work: Work) -> None:
        nonlocal last
        while (t0 := time.perf_counter()) < end:
            try:
                status = await work()
                kind = "" if status == 200 else f"HTTP {status}"
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                kind = type(exc).__name__
            t1 = time.perf_counter()
            phase.completed += 1
            if t0 >= measure_from:
                phase.latencies.append(t1 - t0)
                last = max(last, t1)
                if kind:
                    phase.errors[kind] += 1

    await asyncio.gather(*(run(w) for w in workers))
    phase.wall = last - measure_from
    return phase


async def fixed_count(workers: Sequence[Callable[[int], Awaitable[int]]], n: int) -> Phase:
    """Requests 0..n-1 shared out over the workers (the concurrency), each timed."""
    phase = Phase()
    todo = iter(range(n))

    async def run(work: Callable[[int], Awaitable[int]]) -> None:
        for i in todo:
            t0 = time.perf_counter()
            try:
                status = await work(i)
                kind = "" if status == 200 else f"HTTP {status}"
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                kind = type(exc).__name__
            phase.latencies.append(time.perf_counter() - t0)
            phase.completed += 1
            if kind:
                phase.errors[kind] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(run(w) for w in workers))
    phase.wall = time.perf_counter() - t0
    return phase
