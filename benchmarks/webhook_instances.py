"""Payment webhooks across two API instances with retries (issue 14 item 6): two `arrears serve` processes on
loopback share one store; clients post signed payment notifications to both, and a share of them is
delivered again with the same Idempotency-Key and body — some at the same moment to both instances (a race
on the key), some later to the other instance. Every payment must be booked exactly once, every delivery
answered 200 (the first answer, or its replay), never a 5xx.

    .venv/bin/python benchmarks/webhook_instances.py [--posts 10000] [--clients 50] [--retries 0.10]
        [--concurrent-share 0.5] [--loans 3000] [--workers 1] [--sqlite] [--write-docs]

PostgreSQL by default (ARREARS_TEST_PG_URL or .pg_test_url; a database of its own, dropped at the end);
`--sqlite` uses a store file in a temporary directory. `make reliability` runs the full size and writes
docs/reliability.md, "Webhooks across two instances"; tests/api/test_webhook_instances.py runs a small size
on both stores.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from payment_event import build  # noqa: E402
from payment_webhook import HOST, SECRET, loadavg, served, server_url, write_section  # noqa: E402

from arrears.adapters.store.models import PaymentRow, PostingRow  # noqa: E402
from arrears.bootstrap import configure  # noqa: E402
from arrears.services.unit_of_work import UnitOfWork  # noqa: E402

configure()


@dataclass(frozen=True)
class Delivery:
    """One payment notification: its key, body and how it is delivered again (None, later, concurrent)."""

    key: str
    payment_id: str
    body: bytes
    retry: str | None


@dataclass
class Answer:
    key: str
    port: int
    status: int
    seconds: float
    body: dict[str, object] = field(default_factory=dict)
    error: str = ""  # why there was no answer (status 0)


class Client:
    """One keep-alive HTTP/1.1 connection to one instance (status and JSON body of each answer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, delivery: Delivery) -> Answer:
        signature = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        head = (
            f"POST /webhooks/payments HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(delivery.body)}\r\nX-Signature: sha256={signature}\r\n"
            f"Idempotency-Key: {delivery.key}\r\n\r\n"
        )
        started = time.monotonic()
        for attempt in (1, 2):
            reused = self.writer is not None
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
                assert self.reader is not None
                self.writer.write(head.encode() + delivery.body)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed without an answer")
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if reused and attempt == 1:
                    # The server had closed this idle keep-alive connection (uvicorn: after 5 s): send the
                    # request again on a new one, as HTTP clients do (same key: never booked twice).
                    continue
                return Answer(delivery.key, self.port, 0, time.monotonic() - started, error=repr(exc))
            break
        try:
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            raw = await self.reader.readexactly(length)
            if close:
                self.close()
        except (ConnectionError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
            self.close()
            return Answer(delivery.key, self.port, 0, time.monotonic() - started, error=repr(exc))
        body = json.loads(raw) if raw.startswith(b"{") else {}
        return Answer(delivery.key, self.port, status, time.monotonic() - started, body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def deliveries(posts: int, loans: int, retries: float, concurrent_share: float, seed: int) -> list[Delivery]:
    """Unique payments plus their second deliveries, `posts` posts in all, `retries` of them second ones."""
    rng = random.Random(seed)
    unique = round(posts / (1 + retries))
    retried = posts - unique
    out = []
    for n in range(unique):
        payment_id = f"W{seed}-{n:06d}"
        body = json.dumps(
            {"payment_id": payment_id, "loan_id": f"L{rng.randrange(loans):06d}", "paid_on": "2026-01-22",
             "amount": f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"}
        ).encode()  # fmt: skip
        out.append(Delivery(f"key-{payment_id}", payment_id, body, None))
    for n in rng.sample(range(unique), retried):
        kind = "concurrent" if rng.random() < concurrent_share else "later"
        out[n] = Delivery(out[n].key, out[n].payment_id, out[n].body, kind)
    return out


async def post_until_answered(client: Client, job: Delivery, refused: list[Answer]) -> Answer:
    """Post until the answer is not a 503 (the server out of time or connections: it says Retry-After and
    nothing was booked), as a payment processor retries; the 503s are kept in `refused`."""
    for _ in range(5):
        answer = await client.post(job)
        if answer.status != 503:
            return answer
        refused.append(answer)
        await asyncio.sleep(1)
    return answer


async def deliver(
    ports: tuple[int, int], jobs: list[Delivery], answers: list[Answer], n: int, refused: list[Answer]
) -> None:
    """One client: each payment to one instance (alternating); a concurrent retry goes to both at once,
    a later one to the other instance after the client's next few payments."""
    clients = {port: Client(port) for port in ports}
    later: list[tuple[int, Delivery, int]] = []  # (due after this many more posts, delivery, port)
    for i, job in enumerate(jobs):
        first, other = (ports[0], ports[1]) if (n + i) % 2 == 0 else (ports[1], ports[0])
        if job.retry == "concurrent":
            answers.extend(
                await asyncio.gather(
                    post_until_answered(clients[first], job, refused),
                    post_until_answered(clients[other], job, refused),
                )
            )
        else:
            answers.append(await post_until_answered(clients[first], job, refused))
            if job.retry == "later":
                later.append((i + random.randint(1, 5), job, other))
        while later and later[0][0] <= i:
            _, again, port = later.pop(0)
            answers.append(await post_until_answered(clients[port], again, refused))
    for _, again, port in later:
        answers.append(await post_until_answered(clients[port], again, refused))
    for c in clients.values():
        c.close()


@dataclass
class Outcome:
    posts: int
    unique: int
    concurrent: int
    later: int
    statuses: Counter[int]
    booked: int
    postings: int
    first_answers: Counter[int]  # per key: how many answers said replayed: false
    mismatched: int  # answers for a key that name another payment, or disagree with the first
    errors: Counter[str]  # connections that failed without an answer, by what happened
    refused: int  # 503 answers (out of time / no connection; Retry-After, nothing booked), then retried
    seconds: float
    p50: float
    p99: float

    @property
    def ok(self) -> bool:
        """Every payment booked once, every delivery answered 200 in the end, no 5xx on the way."""
        return (
            self.refused == 0
            and self.booked == self.unique
            and self.postings == self.unique
            and not any(s >= 500 or s == 0 for s in self.statuses)
            and set(self.statuses) == {200}
            and set(self.first_answers) == {1}
            and self.mismatched == 0
        )


def run(url: str, ports: tuple[int, int], *, posts: int, clients: int, loans: int, retries: float,
        concurrent_share: float, workers: int, seed: int = 1) -> Outcome:  # fmt: skip
    """Build the portfolio at `url`, serve it twice, deliver, and count what the store booked."""
    build(url, loans)
    jobs = deliveries(posts, loans, retries, concurrent_share, seed)
    answers: list[Answer] = []
    refused: list[Answer] = []
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(served(url, port, workers))
        started = time.monotonic()

        async def everyone() -> None:
            await asyncio.gather(
                *(deliver(ports, jobs[c::clients], answers, c, refused) for c in range(clients))
            )

        asyncio.run(everyone())
        seconds = time.monotonic() - started
    ids = [j.payment_id for j in jobs]
    with UnitOfWork(url) as uow:
        c = uow.connection
        booked = int(
            c.scalar(select(func.count()).select_from(PaymentRow).where(PaymentRow.id.in_(ids))) or 0
        )
        postings = int(
            c.scalar(
                select(func.count())
                .select_from(PostingRow)
                .where(PostingRow.kind == "payment", PostingRow.ref.in_(ids))
            )
            or 0
        )
    by_key: dict[str, list[Answer]] = defaultdict(list)
    for a in answers:
        by_key[a.key].append(a)
    firsts: Counter[int] = Counter()
    mismatched = 0
    for job in {j.key: j for j in jobs}.values():
        got = [a for a in by_key[job.key] if a.status == 200]
        firsts[sum(1 for a in got if a.body.get("replayed") is False)] += 1
        first = next((a.body for a in got if a.body.get("replayed") is False), None)
        for a in got:
            same = {k: v for k, v in a.body.items() if k != "replayed"}
            if a.body.get("payment_id") != job.payment_id or (
                first is not None and same != {k: v for k, v in first.items() if k != "replayed"}
            ):
                mismatched += 1
    latencies = sorted(a.seconds for a in answers)
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000  # noqa: E731
    return Outcome(
        posts=len(answers),
        unique=len(jobs),
        concurrent=sum(1 for j in jobs if j.retry == "concurrent"),
        later=sum(1 for j in jobs if j.retry == "later"),
        statuses=Counter(a.status for a in answers),
        booked=booked,
        postings=postings,
        first_answers=firsts,
        mismatched=mismatched,
        errors=Counter(a.error for a in answers if a.status == 0),
        refused=len(refused),
        seconds=seconds,
        p50=q(0.5),
        p99=q(0.99),
    )


def describe(o: Outcome) -> str:
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(o.statuses.items()))
    return (
        f"{o.posts} posts ({o.unique} payments, {o.concurrent} delivered twice at once to both instances, "
        f"{o.later} again later to the other) in {o.seconds:.0f} s ({o.posts / o.seconds:.0f}/s): "
        f"statuses {{{codes}}} after {o.refused} 503 answers were retried; booked {o.booked} of {o.unique} payments ({o.postings} payment postings); "
        f"keys answered first exactly once: {o.first_answers.get(1, 0)} of {o.unique}; answers that "
        f"disagree with the first: {o.mismatched}; latency p50 {o.p50:.1f} ms, p99 {o.p99:.1f} ms — "
        + ("every payment once, 0 5xx" if o.ok else f"FAILED {dict(o.errors) or ''}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--retries", type=float, default=0.10, help="share of posts that are a second delivery"
    )
    parser.add_argument(
        "--concurrent-share", type=float, default=0.5, help="of the retries: at the same moment"
    )
    parser.add_argument("--loans", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=1, help="per instance")
    parser.add_argument("--ports", default="18091,18092")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite store file instead of PostgreSQL")
    parser.add_argument(
        "--write-docs", action="store_true", help='docs/reliability.md, "Webhooks across two instances"'
    )
    args = parser.parse_args()
    ports = tuple(int(p) for p in args.ports.split(","))
    assert len(ports) == 2
    load_before = loadavg()
    options = {
        "posts": args.posts, "clients": args.clients, "loans": args.loans, "retries": args.retries,
        "concurrent_share": args.concurrent_share, "workers": args.workers,
    }  # fmt: skip
    if args.sqlite:
        store = "SQLite"
        outcome = run(f"sqlite:///{tempfile.mkdtemp(prefix='arrears-wh-')}/store.db", ports, **options)  # type: ignore[arg-type]
    else:
        store = "PostgreSQL"
        server = make_url(server_url())
        name = f"arrears_bench_instances_{os.getpid()}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            outcome = run(server.set(database=name).render_as_string(hide_password=False), ports, **options)  # type: ignore[arg-type]
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    setup = (
        f"two `arrears serve --workers {args.workers}` on {store}, {args.loans} loans; {args.clients} clients, "
        f"{args.retries:.0%} of posts a second delivery (same key and body), {args.concurrent_share:.0%} of "
        f"those at the same moment to both instances; {os.cpu_count()} CPUs, load average before {load_before}"
    )
    print(setup)
    print(describe(outcome))
    if args.write_docs:
        o = outcome
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(o.statuses.items()))
        body = "\n".join(
            [
                "Produced by `make reliability` (`benchmarks/webhook_instances.py --write-docs`); a small version",
                "runs in the test suite (`tests/api/test_webhook_instances.py`, 300 posts, SQLite and PostgreSQL).",
                "Clients post signed payment notifications to two API instances (two `arrears serve` processes on",
                "loopback, one store), alternating; a share of the payments is delivered a second time with the",
                "same Idempotency-Key and body — half of them at the same moment to both instances (a race on the",
                "key: the loser's unique-key violation rolls its work back and it answers the replay), half a few",
                "posts later to the other instance.",
                "",
                f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {setup}.",
                "",
                "| posts | payments | sent twice at once | sent again later | booked | 5xx (retried) | final "
                "statuses | first answers per key | answers unlike the first | p50 ms | p99 ms | seconds |",
                "|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
                f"| {o.posts} | {o.unique} | {o.concurrent} | {o.later} | {o.booked} | "
                f"{o.refused + sum(v for k, v in o.statuses.items() if k >= 500)} | {codes} | "
                f"exactly one for {o.first_answers.get(1, 0)} of {o.unique} keys | {o.mismatched} | "
                f"{o.p50:.0f} | {o.p99:.0f} | {o.seconds:.0f} |",
                "",
                "Every payment booked exactly once, 0 5xx: "
                + ("yes." if o.ok else "NO — see the row above."),
                "A 503 (the request's time budget, 10 s, or no free connection; `Retry-After`, nothing booked)"
                " is retried by the client after a second, as a payment processor does; it counts as a 5xx.",
            ]
        )
        write_section(ROOT / "docs" / "reliability.md", "Webhooks across two instances", body)
    if not outcome.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
