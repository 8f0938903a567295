"""`python ingest.py PATH...`: summary line, idempotence across runs, failures and exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, SAMPLE_CORPUS


def _ingest(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "ingest.py"), "--quiet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_folder_ingest_reports_a_summary_and_a_bad_file_fails_the_run(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS / "en", corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    data_dir = tmp_path / "data"

    first = _ingest(data_dir, str(corpus))
    assert first.returncode == 1
    assert "files: 6 " in first.stdout and "failed: 1" in first.stdout
    assert "FAILED broken.pdf: not a valid PDF" in first.stderr
    assert "knowledge base: 5 documents" in first.stdout

    (corpus / "broken.pdf").unlink()
    second = _ingest(data_dir, str(corpus))
    assert second.returncode == 0, second.stderr
    assert "added: 0 " in second.stdout and "failed: 0" in second.stdout


def test_delete_removes_a_files_chunks_and_missing_paths_are_reported(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    doc = str(shutil.copy(SAMPLE_CORPUS / "en/udyam_registration.txt", tmp_path / "udyam.txt"))
    assert _ingest(data_dir, doc).returncode == 0
    deleted = _ingest(data_dir, "--delete", doc)
    assert deleted.returncode == 0 and "removed" in deleted.stdout
    assert "knowledge base" not in deleted.stdout
    again = _ingest(data_dir, doc)
    assert "added: 0 " not in again.stdout  # its chunks were really gone

    missing = _ingest(data_dir, str(tmp_path / "nope.pdf"))
    assert missing.returncode == 1
    assert "no such file or folder" in missing.stderr
