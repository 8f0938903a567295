"""Where uploaded files live: local files under DATA_DIR or an S3 bucket, behind one protocol."""

from storage.base import Storage, StorageError, build_storage, safe_filename
from storage.local import LocalStorage
from storage.s3 import S3Storage

__all__ = ["LocalStorage", "S3Storage", "Storage", "StorageError", "build_storage", "safe_filename"]
