"""Celery scale-out: the serving process sends job ids; `make worker` processes run them."""

from __future__ import annotations

import argparse
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from celery import Celery

from jobs import queue
from settings import Settings, configure_offline_libraries

if TYPE_CHECKING:
    from api.services import Services

TASK_NAME = "msme_rag.run_job"
logger = logging.getLogger(__name__)


def create_celery_app(settings: Settings, services: Services | None = None) -> Celery:
    """A Celery app on CELERY_BROKER_URL; with `services`, it can also run the job task."""
    if not settings.celery_broker_url:
        raise ValueError("CELERY_BROKER_URL is not set")
    app = Celery("msme_rag", broker=settings.celery_broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.celery_queue,
        task_ignore_result=True,
        # Redelivered if a worker dies mid-job; the row's claim makes a duplicate harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    if services is not None:
        worker = queue.worker_name("celery")

        @app.task(name=TASK_NAME)  # type: ignore[untyped-decorator]
        def run_job_task(job_id: str) -> bool:
            from jobs.tasks import run_job

            return run_job(services, uuid.UUID(job_id), worker=worker)

    return app


class CeleryDispatcher:
    """Sends job ids to the broker, and re-sends jobs that were lost or abandoned.

    A message can be lost (broker restart) or its worker can die; the rows stay the source of
    truth, so a sweeper re-sends pending and stale jobs every lease period.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.app = create_celery_app(services.settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent: dict[uuid.UUID, float] = {}

    def start(self) -> None:
        """Re-send what the table holds now, then keep sweeping in a thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._sweep_loop, name="msme-rag-sweeper", daemon=True
        )
        self._thread.start()

    def submit(self, job_id: uuid.UUID) -> None:
        """Send the job to the workers."""
        import time

        self.app.send_task(TASK_NAME, args=[str(job_id)], queue=self.services.settings.celery_queue)
        self._sent[job_id] = time.monotonic()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the sweeper."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def describe(self) -> str:
        """`celery`."""
        return "celery"

    def _sweep_loop(self) -> None:
        import time

        lease = self.services.settings.job_lease_seconds
        while not self._stop.is_set():
            try:
                for job_id in queue.claimable_job_ids(self.services.database, lease):
                    sent = self._sent.get(job_id)
                    if sent is None or time.monotonic() - sent > lease:
                        self.submit(job_id)
            except Exception:  # the broker or database may be restarting; try again later
                logger.exception("could not re-send jobs")
            self._stop.wait(lease)


def main(argv: list[str] | None = None) -> None:
    """Run a Celery worker for msme-rag jobs (loads the embedding model once, up front)."""
    from api.services import Services

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--loglevel", default="INFO")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--pool", default="solo", help="solo (default), threads or prefork")
    args, extra = parser.parse_known_args(argv)
    configure_offline_libraries()
    logging.basicConfig(level=args.loglevel.upper())
    settings = Settings()
    if not settings.celery_broker_url:
        parser.error("set CELERY_BROKER_URL to the broker the serving process uses")
    services = Services(settings=settings)
    services.database.prepare()
    services.start()
    app = create_celery_app(settings, services)
    worker_args: list[Any] = [
        "worker",
        f"--loglevel={args.loglevel}",
        f"--pool={args.pool}",
        f"--concurrency={args.concurrency}",
        f"--queues={settings.celery_queue}",
        "--without-gossip",
        "--without-mingle",
        *extra,
    ]
    app.worker_main(worker_args)


if __name__ == "__main__":
    main()
