"""A Spark standalone cluster on 127.0.0.1 for tests: a master and workers started with the `spark-class`
launcher pyspark ships (no download), each on ports the system picks, logs and work in a directory of the
caller's; every wait bounded, every process stopped afterwards (even when start-up fails).

    with standalone_cluster(tmp_dir, workers=2) as master_url:   # spark://127.0.0.1:PORT
        ...
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
START_TIMEOUT_S = 180.0  # two cores shared by a whole test session: JVMs start slowly


class ClusterError(RuntimeError):
    pass


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def java_available() -> bool:
    return shutil.which("java") is not None


def _environment(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("JAVA_HOME", None)  # the java on PATH (/usr/bin/java), not a stale JAVA_HOME
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(work / "logs"),
        SPARK_WORKER_DIR=str(work / "work"),
        # No REST submission server (it would take the fixed port 6066, shared by parallel sessions).
        SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false",
    )
    return env


def _wait_for(
    log: Path, pattern: str, count: int, proc: subprocess.Popen[bytes], deadline: float
) -> list[str]:
    while True:
        found = re.findall(pattern, log.read_text(errors="replace")) if log.exists() else []
        if len(found) >= count:
            return found
        if proc.poll() is not None:
            raise ClusterError(f"{log.name}: the process ended (exit {proc.returncode}) before {pattern!r}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{log.name}: no {pattern!r} within {START_TIMEOUT_S:.0f}s")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The launcher and the JVM it started (a process group of their own)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


@contextmanager
def standalone_cluster(work: Path, workers: int = 2, cores: int = 1, memory: str = "1g") -> Iterator[str]:
    """A master and `workers` workers (each `cores` cores, `memory`) on loopback; yields the master's URL."""
    work.mkdir(parents=True, exist_ok=True)
    env = _environment(work)
    launcher = str(spark_home() / "bin" / "spark-class")
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = work / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [launcher, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        procs.append(proc)
        return proc, log

    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        master, master_log = start(
            "master", MASTER_CLASS, "--host", "127.0.0.1", "--port", "0", "--webui-port", "0"
        )
        url = _wait_for(
            master_log, r"Starting Spark master at (spark://127\.0\.0\.1:\d+)", 1, master, deadline
        )[0]
        for i in range(workers):
            start(
                f"worker{i + 1}",
                WORKER_CLASS,
                "--host", "127.0.0.1", "--port", "0", "--webui-port", "0",
                "--cores", str(cores), "--memory", memory,
                "--work-dir", str(work / f"worker{i + 1}"),
                url,
            )  # fmt: skip
        _wait_for(master_log, r"Registering worker 127\.0\.0\.1:\d+", workers, master, deadline)
        yield url
    finally:
        for proc in reversed(procs):
            _stop(proc)
