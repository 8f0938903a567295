"""Background work: jobs are database rows, run by an in-process thread or by Celery workers."""

from jobs.dispatch import JobDispatcher, build_dispatcher

__all__ = ["JobDispatcher", "build_dispatcher"]
