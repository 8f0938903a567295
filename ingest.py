"""Ingest files or folders into the knowledge base under DATA_DIR: `python ingest.py PATH...`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from settings import Settings, configure_offline_libraries


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Add documents (pdf, docx, doc, txt, md, html) to the msme-rag knowledge base. "
        "Re-ingesting an unchanged file adds nothing; a changed file replaces its chunks."
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders to ingest")
    parser.add_argument(
        "--delete", action="store_true", help="remove these files' chunks instead of adding them"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the exit code is 1 when any file failed."""
    args = parse_args(argv)
    configure_offline_libraries()
    from tqdm import tqdm

    from knowledge.base import KnowledgeBase
    from knowledge.embeddings import build_embeddings
    from knowledge.ingestion import discover_files, doc_id_for_path, ingest_paths

    settings = Settings()
    started = time.perf_counter()
    files, missing = discover_files(args.paths)
    knowledge = KnowledgeBase(settings, build_embeddings(settings))

    if args.delete:
        removed = sum(knowledge.delete_document(doc_id_for_path(path)) for path in files)
        print(f"removed {removed} chunks of {len(files)} files")
        return 1 if missing else 0

    progress = tqdm(files, desc="ingesting", unit="file", disable=args.quiet, file=sys.stderr)
    summary = ingest_paths(knowledge, settings, progress)
    summary.outcomes[:0] = missing
    summary.seconds = time.perf_counter() - started

    print(
        f"files: {len(files)}  chunks: {summary.total('chunks')}  added: {summary.total('added')}  "
        f"skipped: {summary.total('skipped')}  deleted: {summary.total('deleted')}  "
        f"failed: {len(summary.failures)}  seconds: {summary.seconds:.1f}"
    )
    for failure in summary.failures:
        print(f"FAILED {failure.error}", file=sys.stderr)
    stats = knowledge.stats()
    print(
        f"knowledge base: {stats.documents} documents, {stats.chunks} chunks in {settings.resolved_data_dir}"
    )
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
