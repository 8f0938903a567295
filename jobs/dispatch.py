"""Who runs the jobs: a thread inside the serving process, or Celery workers through a broker."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import TYPE_CHECKING, Protocol

from jobs import queue

if TYPE_CHECKING:
    from api.services import Services

logger = logging.getLogger(__name__)


class JobDispatcher(Protocol):
    """Gets committed job rows run somewhere."""

    def start(self) -> None:
        """Begin running (or handing out) jobs, including those left from before a restart."""
        ...

    def submit(self, job_id: uuid.UUID) -> None:
        """Run this committed job soon."""
        ...

    def stop(self) -> None:
        """Stop taking new jobs."""
        ...

    def describe(self) -> str:
        """The backend for the status route."""
        ...


def build_dispatcher(services: Services) -> JobDispatcher:
    """Celery when CELERY_BROKER_URL is set, else a worker thread in this process."""
    if services.settings.celery_broker_url:
        from jobs.celery_app import CeleryDispatcher

        return CeleryDispatcher(services)
    return InProcessWorker(services)


class InProcessWorker:
    """One thread runs jobs in order; the rows are the queue, so a restart resumes them.

    Besides being woken by `submit`, the thread polls the table, which also picks up jobs
    created by other processes and jobs abandoned by a crashed process once their lease expires.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.name = queue.worker_name("inprocess")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="msme-rag-jobs", daemon=True)
        self._thread.start()

    def submit(self, job_id: uuid.UUID) -> None:
        """Wake the thread; it finds the job in the table."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop after the current job and wait for it a while."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def describe(self) -> str:
        """`inprocess`."""
        return "inprocess"

    def _loop(self) -> None:
        settings = self.services.settings
        while not self._stop.is_set():
            self._wake.clear()
            ran = False
            try:
                for job_id in queue.claimable_job_ids(
                    self.services.database, settings.job_lease_seconds
                ):
                    if self._stop.is_set():
                        break
                    ran = self._run(job_id) or ran
            except Exception:  # keep the thread alive through a database hiccup
                logger.exception("job loop error")
            if not ran:
                self._wake.wait(settings.job_poll_seconds)

    def _run(self, job_id: uuid.UUID) -> bool:
        from jobs.tasks import run_job

        return run_job(self.services, job_id, worker=self.name)
