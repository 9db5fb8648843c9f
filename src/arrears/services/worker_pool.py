"""Workers that share a budget of rows to claim: threads in this process, or forked processes.

The dispatcher runs its workers here (services/dispatch.py). A worker is a function that takes rows from
the budget until it is spent (or nothing is left to claim) and returns its report. Forked processes send
their progress and reports back by queue; a process that fails sends its traceback instead.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Report = TypeVar("Report")
Progress = Callable[[int], None]


class ClaimBudget:
    """How many rows the workers may still claim (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit
        self._lock = threading.Lock()

    def take(self, want: int) -> int:
        with self._lock:
            if self.left is None:
                return want
            got = min(want, self.left)
            self.left -= got
            return got

    def give_back(self, count: int) -> None:
        """Rows taken but not claimed after all."""
        if count > 0:
            with self._lock:
                if self.left is not None:
                    self.left += count


class SharedClaimBudget(ClaimBudget):
    """The same, shared by worker processes."""

    def __init__(self, limit: int | None, context: Any) -> None:
        self.limited = limit is not None
        self.value = context.Value("q", limit or 0)

    def take(self, want: int) -> int:
        if not self.limited:
            return want
        with self.value.get_lock():
            got = min(want, int(self.value.value))
            self.value.value -= got
            return got

    def give_back(self, count: int) -> None:
        if count > 0 and self.limited:
            with self.value.get_lock():
                self.value.value += count


def run_in_threads(work: Callable[[ClaimBudget], Report], count: int, limit: int | None) -> list[Report]:
    """`count` workers in threads of this process (one: in this thread); the first error is raised."""
    budget = ClaimBudget(limit)
    reports: list[Report] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(work(budget))
        except BaseException as exc:
            errors.append(exc)

    if count == 1:
        run()
    else:
        threads = [threading.Thread(target=run, name=f"dispatch-{i}") for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return reports


class _Child(Generic[Report]):
    """What a forked worker runs: the work, then its report (or traceback) on the queue, then a hard exit."""

    def __init__(self, work: Callable[[int, ClaimBudget, Progress | None], Report], results: Any) -> None:
        self.work = work
        self.results = results

    def __call__(self, index: int, budget: ClaimBudget, progress: bool) -> None:
        results = self.results
        try:
            report = self.work(index, budget, (lambda n: results.put(("progress", n))) if progress else None)
            results.put(("report", report))
        except BaseException:
            results.put(("error", traceback.format_exc()))
        finally:
            results.close()
            results.join_thread()
            os._exit(0)  # skip the parent's atexit handlers and finalizers (test servers, pools)


def run_in_processes(
    work: Callable[[int, ClaimBudget, Progress | None], Report],
    count: int,
    limit: int | None,
    on_progress: Progress | None,
) -> list[Report]:
    """`count` forked worker processes, each running `work(index, budget, progress)`.

    The caller makes sure nothing the children must not share (pooled store connections) is open when
    this is called; each child sets up its own (channels' connections) inside `work`.
    """
    context = multiprocessing.get_context("fork")
    budget = SharedClaimBudget(limit, context)
    results: Any = context.Queue()
    child = _Child(work, results)
    children = [
        context.Process(target=child, args=(i, budget, on_progress is not None), daemon=True)
        for i in range(count)
    ]
    for process in children:
        process.start()
    reports: list[Report] = []
    errors: list[str] = []
    done = 0
    while done < count:
        try:
            kind, value = results.get(timeout=1.0)
        except queue.Empty:
            if all(not c.is_alive() for c in children) and results.empty():
                errors.append("a dispatch worker process died without a report")
                break
            continue
        if kind == "progress":
            if on_progress is not None:
                on_progress(value)
            continue
        done += 1
        if kind == "report":
            reports.append(value)
        else:
            errors.append(value)
    for process in children:
        process.join(timeout=10)
    if errors:
        raise RuntimeError(f"dispatch worker failed: {errors[0]}")
    return reports
