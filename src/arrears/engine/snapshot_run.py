"""The daily run's evaluation over a snapshot directory, its parts spread over worker processes.

A part is a complete sub-portfolio (arrears.engine.snapshot_dir), so parts are independent: each worker
reads a part, runs the engine on it (ledger, features, segments, steps) and writes that part's actions
to its own Parquet file in the outbox directory, then takes the next part. One worker per core keeps
the cores busy through the stretches of the run that are single-threaded Python (reading, Arrow
bookkeeping) as well as the compiled and SQL ones. Workers start and compile before the clock starts; the measured time is
the parts' reading, evaluation and writing.

The caller hands over what the workers need from outside the engine, as picklable callables (workers are
spawned): the policy's loader (a policy holds compiled predicates, which do not pickle) and, optionally, a
warm-up (e.g. the engine run on a small generated portfolio, so the kernel is compiled before the clock).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import resource
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from arrears.domain.errors import InputError
from arrears.domain.policy.model import Policy
from arrears.engine.evaluation import accidental_legal_actions, count_by
from arrears.engine.evaluators import evaluator
from arrears.engine.snapshot_dir import read_manifest, read_part

OUTBOX_FILE = "outbox-{part}.parquet"

PolicyLoader = Callable[[], Policy]
"""Loads the run's policy (e.g. functools.partial(load_policy, path)); InputError for a bad one."""
WarmUp = Callable[[Policy, str], None]
"""Runs the named engine once with the policy before the clock starts (compiles, starts the engine)."""


def peak_rss_mb() -> float:
    """This process's peak resident set, in MiB.

    Linux's VmHWM, where there is one: it starts afresh at exec, whereas ru_maxrss carries over what
    the forking parent had resident, which would charge a child with its parent's memory.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PartDone:
    part: str
    accounts: int
    actions: int
    seconds: float
    segments: dict[str, int]
    peak_rss_mb: float
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    channels: dict[str, int] = field(default_factory=dict)
    accidental: dict[str, int] = field(default_factory=dict)  # accidental late payers' legal actions


@dataclass
class SnapshotRun:
    """What a run over a snapshot directory did."""

    accounts: int
    actions: int
    parts: int
    workers: int
    seconds: float  # from the first part handed out to the last part's outbox file closed
    peak_rss_mb: float  # the workers' peaks added up (and the caller's): an upper bound of what was resident
    outbox_dir: Path
    read_seconds: float = 0.0  # the parts' reading, added up over the workers
    segments: dict[str, int] = field(default_factory=dict)  # accounts per segment
    channels: dict[str, int] = field(default_factory=dict)  # planned actions per channel
    # actions planned for accidental late payers: lawyer's letters, and any in a legal tone
    accidental_late_payers: dict[str, int] = field(default_factory=dict)

    @property
    def accounts_per_s(self) -> float:
        return self.accounts / self.seconds if self.seconds else 0.0


def worker_count(engine: str, asked: int | None, parts: int) -> int:
    """How many worker processes run: as asked (default one per core), never more than there are parts,
    and one for Spark, which spreads the work over its own executors."""
    count = (os.cpu_count() or 1) if asked is None else asked
    if count < 1:
        raise InputError("at least one worker is needed", field="--workers")
    if engine == "spark":
        return 1
    return min(count, max(1, parts))


def run_snapshot(
    snapshot_dir: str | Path,
    policy: PolicyLoader,
    as_of: date,
    outbox_dir: str | Path,
    *,
    engine: str = "duckdb",
    workers: int | None = None,
    on_part: Callable[[PartDone], None] | None = None,
    memory_map: bool = False,
    warm_up: WarmUp | None = None,
) -> SnapshotRun:
    """Evaluate every part of the snapshot on `as_of` with the policy `policy()` loads; each part's actions
    go to `outbox_dir/outbox-<part>.parquet`. `policy` and `warm_up` are called in every worker, so they
    must pickle (module-level functions, or functools.partial of one)."""
    root = Path(snapshot_dir)
    manifest = read_manifest(root)
    policy()  # a bad policy is reported here, before any worker starts
    out = Path(outbox_dir)
    out.mkdir(parents=True, exist_ok=True)
    count = worker_count(engine, workers, len(manifest.parts))
    # Each worker may use every core: while one is in a single-threaded stretch (reading a part, Arrow
    # bookkeeping), the other's threads take the idle core. Measured on 2 cores: ≈ 8 % faster than one
    # thread per worker.
    threads = int(os.environ.get("ARREARS_RUN_THREADS", "0")) or (os.cpu_count() or 1)
    largest = max((p.accounts for p in manifest.parts), default=0)
    pretouch = int(largest * PRETOUCH_BYTES_PER_ACCOUNT / 2**20)
    context = multiprocessing.get_context("spawn")
    tasks: Queue[Any] = context.Queue()
    results: Queue[Any] = context.Queue()
    procs: list[BaseProcess] = [
        context.Process(
            target=_worker,
            args=(policy, warm_up, engine, as_of, threads, str(out), memory_map, pretouch, tasks, results),
            daemon=True,
        )
        for _ in range(count)
    ]
    with _worker_environment():
        for proc in procs:
            proc.start()
    done: list[PartDone] = []
    try:
        for _ in procs:  # every worker has loaded the policy and compiled the engine
            _expect(_next(results, procs), "ready", procs)
        started = time.perf_counter()
        for entry in manifest.parts:
            tasks.put((str(root / entry.dir), entry.dir, entry.accounts))
        for _ in procs:
            tasks.put(None)
        peaks: list[float] = []
        while len(done) < len(manifest.parts) or len(peaks) < len(procs):
            kind, payload = _next(results, procs)
            if kind == "peak":  # a worker with nothing left to do
                peaks.append(payload)
                continue
            part = _expect((kind, payload), "done", procs)
            done.append(part)
            if on_part is not None:
                on_part(part)
            if len(done) == len(manifest.parts):
                seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    segments: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    accidental: Counter[str] = Counter({"lawyer_letter": 0, "legal_tone": 0})
    for part in done:
        segments.update(part.segments)
        channels.update(part.channels)
        accidental.update(part.accidental)
    return SnapshotRun(
        accounts=sum(p.accounts for p in done),
        actions=sum(p.actions for p in done),
        parts=len(done),
        workers=count,
        seconds=seconds,
        peak_rss_mb=sum(peaks) + peak_rss_mb(),
        outbox_dir=out,
        read_seconds=sum(p.read_seconds for p in done),
        segments=dict(segments),
        channels=dict(channels),
        accidental_late_payers=dict(accidental),
    )


# Each part allocates the same large arrays again. Memory handed back to the system and taken again costs
# a page fault per page (and on a virtual machine the host's too): keep it in the process instead, and
# skip huge-page zeroing of short-lived arrays.
WORKER_ENVIRONMENT = {
    "NUMPY_MADVISE_HUGEPAGE": "0",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(16 * 2**30),
    "MALLOC_TOP_PAD_": str(512 * 2**20),
    "OMP_WAIT_POLICY": "PASSIVE",  # more threads than cores: idle threads sleep instead of spinning
}


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in WORKER_ENVIRONMENT}
    os.environ.update({k: v for k, v in WORKER_ENVIRONMENT.items() if saved[k] is None})  # yours win
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# What one part of N accounts needs at its peak, about: the part as read plus the engine's arrays.
PRETOUCH_BYTES_PER_ACCOUNT = 1_000


def _pretouch(megabytes: int) -> None:
    """Take the memory a part will need and give it back to the allocators (which keep it, see
    WORKER_ENVIRONMENT), so the first part does not pay a page fault per page: the JVM's AlwaysPreTouch
    for a run worker. Half through Arrow's allocator (the parts' columns), half through malloc (numpy)."""
    import numpy as np
    import pyarrow as pa

    chunk = 24 * 2**20  # under malloc's mmap threshold: freed chunks stay in the heap
    held_np, held_pa = [], []
    for _ in range(max(0, megabytes // 2) // 24):
        held_np.append(np.ones(chunk // 8, dtype=np.int64))
        buf = pa.allocate_buffer(chunk)
        np.frombuffer(buf, dtype=np.uint8)[:] = 1
        held_pa.append(buf)
    del held_np, held_pa


def _next(results: Queue[Any], procs: list[BaseProcess]) -> tuple[str, Any]:
    """The next message from the workers; a worker that died without saying why is an error too."""
    while True:
        try:
            message: tuple[str, Any] = results.get(timeout=1.0)
            return message
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                return ("error", f"a worker process exited with code {dead[0].exitcode}")


def _expect(message: tuple[str, Any], kind: str, procs: list[BaseProcess]) -> Any:
    got, payload = message
    if got == "error":
        for proc in procs:
            proc.terminate()
        if isinstance(payload, InputError):
            raise payload
        raise RuntimeError(f"a run worker failed:\n{payload}")
    if got != kind:
        raise RuntimeError(f"a run worker said {got!r} where {kind!r} was expected")
    return payload


def _worker(
    load_policy: PolicyLoader,
    warm_up: WarmUp | None,
    engine_name: str,
    as_of: date,
    threads: int,
    outbox_dir: str,
    memory_map: bool,
    pretouch_mb: int,
    tasks: Queue[Any],
    results: Queue[Any],
) -> None:
    try:
        from arrears.engine import duckdb_engine

        duckdb_engine.set_threads(threads)
        import pyarrow

        with contextlib.suppress(NotImplementedError):  # keep freed Arrow memory for the next part
            pyarrow.jemalloc_set_decay_ms(-1)
        policy = load_policy()
        run = evaluator(engine_name)
        if warm_up is not None:
            warm_up(policy, engine_name)
        _pretouch(pretouch_mb)
        results.put(("ready", None))
        while (task := tasks.get()) is not None:
            part_dir, name, accounts = task
            started = time.perf_counter()
            portfolio = read_part(Path(part_dir), accounts, memory_map=memory_map)
            read = time.perf_counter()
            evaluation = run(portfolio, policy, as_of, None)
            accidental = accidental_legal_actions(evaluation, portfolio["borrowers"])
            del portfolio
            evaluated = time.perf_counter()
            pq.write_table(evaluation.actions, Path(outbox_dir) / OUTBOX_FILE.format(part=name))
            written = time.perf_counter()
            results.put(
                (
                    "done",
                    PartDone(
                        name,
                        evaluation.assignments.num_rows,
                        evaluation.actions.num_rows,
                        written - started,
                        count_by(evaluation.assignments, "segment"),
                        peak_rss_mb(),
                        read - started,
                        written - evaluated,
                        count_by(evaluation.actions, "channel"),
                        accidental,
                    ),
                )
            )
            del evaluation
        results.put(("peak", peak_rss_mb()))
    except InputError as err:
        results.put(("error", err))
    except BaseException:
        results.put(("error", traceback.format_exc()))
