"""Workers that share a budget of rows to claim: threads in this process, or forked processes.

The dispatcher runs its workers here (services/dispatch.py). A worker is a function that takes rows from
the budget until it is spent (or nothing is left to claim) and returns its report. Forked processes send
their progress and reports back by queue; a process that fails sends its traceback instead. A forked worker
dies with its parent (Linux: PR_SET_PDEATHSIG; elsewhere, and as a fallback, a watchdog thread that sees
the parent gone), so killing the dispatcher never leaves workers sending.

`worker_identity()` names a worker so that another process can tell whether it is still alive
(`worker_gone`): the host, the process id and the process's start time (a reused pid is another process).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Report = TypeVar("Report")
Progress = Callable[[int], None]


PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCHDOG_SECONDS = 0.2


def die_with_parent(parent: int) -> None:
    """Make this (forked) process die when `parent` does: the kernel's parent-death signal on Linux, and a
    watchdog thread everywhere (it also covers a parent that died before the signal was asked for)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, from /proc), "" where /proc is not there, None when
    there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except FileNotFoundError:
        if os.path.isdir("/proc"):
            return None
    except (OSError, IndexError):
        return ""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def worker_identity() -> str:
    """This worker's name as it holds rows: host|pid|process start|random token (threads of one process
    have tokens of their own)."""
    pid = os.getpid()
    return f"{socket.gethostname()}|{pid}|{_started(pid) or ''}|{secrets.token_hex(4)}"


def worker_gone(owner: str) -> bool:
    """Whether the worker named `owner` has certainly died: on this host, its process is not running (or its
    pid is another process's now). A worker on another host is never judged gone here (its lease is)."""
    parts = owner.split("|")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    started = _started(int(parts[1]))
    return started is None or bool(parts[2] and started and started != parts[2])


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

    def __call__(self, index: int, budget: ClaimBudget, progress: bool, parent: int) -> None:
        die_with_parent(parent)
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
        context.Process(target=child, args=(i, budget, on_progress is not None, os.getpid()), daemon=True)
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
