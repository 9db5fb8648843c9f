"""What one request may cost (docs/api.md, "Limits"): dates within a range, pages of at most MAX_LIMIT rows,
a time budget per request (statement timeout, cancelled when the client goes away), a token bucket per
API key, a few slots for the heavy reads, a bounded body. The bounds live here and nowhere else."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrears.adapters.store.limits import RequestBudget, StoreTimeout, budget_scope
from arrears.entrypoints.api.problems import problem

# ------------------------------------------------------------------------------------------------ dates
EARLIEST_DAY = date(2000, 1, 1)
FUTURE_DAYS = 366  # as-of dates and events: at most a year ahead
LATEST_FAR_DAY = date(2199, 12, 31)  # due dates, end dates (recall, until): far, no date arithmetic overflow
DAY_RANGE = f"{EARLIEST_DAY} .. today + {FUTURE_DAYS} days"
FAR_DAY_RANGE = f"{EARLIEST_DAY} .. {LATEST_FAR_DAY}"


def _today() -> date:
    return datetime.now(UTC).date()


def _within(value: Any, latest: date) -> Any:
    if value is None:
        return value
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DAY <= day <= latest:
        raise PydanticCustomError(
            "date_range",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST_DAY.isoformat(), "latest": latest.isoformat()},
        )
    return value


def _day(value: Any) -> Any:
    return _within(value, _today() + timedelta(days=FUTURE_DAYS))


def _far_day(value: Any) -> Any:
    return _within(value, LATEST_FAR_DAY)


def check_month(month: str) -> str:
    """A YYYY-MM month inside the date range."""
    _day(date(int(month[:4]), int(month[5:7]), 1))
    return month


Day = Annotated[date, AfterValidator(_day), Field(description=f"a date, {DAY_RANGE}")]
FarDay = Annotated[date, AfterValidator(_far_day), Field(description=f"a date, {FAR_DAY_RANGE}")]
Instant = Annotated[AwareDatetime, AfterValidator(_day), Field(description=f"an instant, {DAY_RANGE}")]
AsOf = Annotated[
    date | None,
    Query(description=f"the day the answer is as of (default today), {DAY_RANGE}"),
    AfterValidator(_day),
]
RequiredAsOf = Annotated[
    date, Query(description=f"the day the answer is as of, {DAY_RANGE}"), AfterValidator(_day)
]
Month = Annotated[
    str,
    Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description=f"YYYY-MM, {DAY_RANGE}"),
    AfterValidator(check_month),
]

# ------------------------------------------------------------------------------------------------ pages
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_OFFSET = 1_000_000_000
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (the page's start)")]


def page(rows: list[Any], limit: int, offset: int) -> list[Any]:
    return rows[offset : offset + limit]


# ------------------------------------------------------------------------------------- request limits
ENV = "ARREARS_API_"


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """Per worker process. `rate` 0 turns the rate limit off."""

    request_seconds: float = 10.0  # a request's time budget on the store (statement timeout included)
    rate: float = 20.0  # requests per second per API key (token bucket refill)
    burst: int = 60  # the bucket's size
    heavy_slots: int = 1  # heavy reads (whole lists, portfolio-wide decisions) running at once
    max_body_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiLimits:
        """ARREARS_API_REQUEST_SECONDS, _RATE, _BURST, _HEAVY_SLOTS, _MAX_BODY_BYTES (what `serve` sets)."""
        env = os.environ if environ is None else environ
        base = cls()
        values: dict[str, Any] = {}
        for name in cls.__slots__:
            raw = env.get(ENV + name.upper())
            if raw:
                values[name] = type(getattr(base, name))(raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        return {ENV + name.upper(): str(getattr(self, name)) for name in self.__slots__}


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded: retry in {retry_after:.1f} s")
        self.retry_after = retry_after


class Busy(Exception):
    """No slot for a heavy read became free within the request's budget."""


class TokenBuckets:
    """A token bucket per caller (in this process): `rate` tokens a second, at most `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # caller → (tokens, at)

    def take(self, caller: str) -> None:
        """Spend one token of the caller's bucket; RateLimited (with the wait) when it is empty."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                raise RateLimited((1.0 - tokens) / self.rate)
            self._buckets[caller] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:  # forget callers whose buckets have refilled
                full = now - self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if v[1] > full}


class HeavySlots:
    """A few slots for heavy reads per process, so they queue among themselves instead of crowding out
    the light requests (payments, webhooks) for threads, connections and the interpreter."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._semaphore: anyio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _for_this_loop(self) -> anyio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:  # a test client may bring a new loop
            self._semaphore, self._loop = anyio.Semaphore(self.slots), loop
        return self._semaphore

    async def acquire(self, wait_seconds: float) -> anyio.Semaphore:
        """A slot (release it on the returned semaphore); Busy when none is free within `wait_seconds`."""
        semaphore = self._for_this_loop()
        with anyio.move_on_after(max(0.0, wait_seconds)):
            await semaphore.acquire()
            return semaphore
        raise Busy()


async def heavy(request: Request) -> AsyncIterator[None]:
    """Dependency of the heavy routes: wait (within the request's budget) for one of the heavy slots."""
    slots: HeavySlots = request.app.state.heavy_slots
    budget: RequestBudget | None = request.scope.get("arrears.budget")
    semaphore = await slots.acquire(budget.remaining() if budget else 5.0)
    try:
        yield
    finally:
        semaphore.release()


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def retry_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class RequestLimitsMiddleware:
    """Each HTTP request: the body read in full (at most max_body_bytes, else 413), a time budget on the
    store for the rest of the request, and the budget cancelled if the client disconnects before the
    answer is sent (its statements are cancelled, no new one starts)."""

    def __init__(self, app: ASGIApp, limits: ApiLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                too_big = problem(
                    413,
                    "Body too large",
                    f"the body is over {self.limits.max_body_bytes} bytes",
                    kind="too-large",
                    instance=scope.get("path", ""),
                )
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        budget = RequestBudget(self.limits.request_seconds, writes=scope["method"] not in SAFE_METHODS)
        scope["arrears.budget"] = budget
        answered = asyncio.Event()
        gone = asyncio.Event()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered.set()
            await send(message)

        async def watch() -> None:
            message = await receive()  # returns when the client disconnects (or the answer is complete)
            if message["type"] == "http.disconnect" and not answered.is_set():
                gone.set()
                # cancelling a PostgreSQL statement opens a connection: not on the event loop
                asyncio.get_running_loop().run_in_executor(None, budget.cancel)

        watcher = asyncio.ensure_future(watch())
        try:
            with budget_scope(budget):
                await self.app(scope, replay, watched_send)
        finally:
            watcher.cancel()


# A thread waiting for the interpreter gets it after at most this long (CPython's default: 5 ms). A payment
# makes some thirty round trips to the store, each giving the interpreter up; behind a CPU-bound heavy read
# in the same worker each may wait the whole interval (35 waits of 0.2 ms behind a busy thread, measured:
# p50 194 ms at 5 ms, 30 ms at 0.5 ms).
SWITCH_INTERVAL = 0.0005


def share_the_interpreter() -> None:
    """Let threads blocked on the store take the interpreter back promptly (process-wide setting)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def install(app: FastAPI, limits: ApiLimits) -> None:
    """The limits' state, middleware and problem answers (429, 503) on the app."""
    app.state.limits = limits
    app.state.rate_limits = TokenBuckets(limits.rate, limits.burst)
    app.state.heavy_slots = HeavySlots(limits.heavy_slots)
    app.add_middleware(RequestLimitsMiddleware, limits=limits)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        response = problem(429, "Too many requests", str(exc), kind="rate-limit", instance=request.url.path)
        response.headers.update(retry_header(exc.retry_after))
        return response

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        detail = "too many heavy requests are running: retry later"
        response = problem(503, "Busy", detail, kind="busy", instance=request.url.path)
        response.headers.update(retry_header(1))
        return response

    @app.exception_handler(StoreTimeout)
    async def timed_out(request: Request, exc: StoreTimeout) -> JSONResponse:
        response = problem(503, "Took too long", str(exc), kind="timeout", instance=request.url.path)
        response.headers.update(retry_header(1))
        return response

    @app.exception_handler(PoolTimeout)
    async def no_connection(request: Request, exc: PoolTimeout) -> JSONResponse:
        detail = "no database connection became free in time: retry later"
        response = problem(503, "Busy", detail, kind="busy", instance=request.url.path)
        response.headers.update(retry_header(1))
        return response
