"""The import bucket (S3): uploaded spreadsheets in, rejected-rows reports out."""

from __future__ import annotations

import shutil
import tempfile
from functools import lru_cache
from typing import IO, Any

from shared.adapters.aws import client
from shared.core.config import get_settings

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024  # larger uploads spill to /tmp, never held whole in memory


def bucket() -> str:
    settings = get_settings()
    settings._require("IMPORT_BUCKET")
    return str(settings.import_bucket)


def put_file(key: str, file: IO[bytes], content_type: str) -> None:
    """Upload a file object from its start (multipart when large: never read whole into memory);
    the file stays open, so a report can be stored again as it grows."""
    file.seek(0)
    _s3().upload_fileobj(_KeptOpen(file), bucket(), key, ExtraArgs={"ContentType": content_type})


class _KeptOpen:
    """A file lent to an upload, which closes what it read: its `close` leaves the file open."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        """The owner closes the file."""


def open_object(key: str, *, bucket_name: str | None = None) -> IO[bytes]:
    """Copy an object into a spooled temp file (seekable: the XLSX reader needs random access)."""
    body = _s3().get_object(Bucket=bucket_name or bucket(), Key=key)["Body"]
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)
    shutil.copyfileobj(body, spool, length=1024 * 1024)
    spool.seek(0)
    return spool


def object_size(key: str, *, bucket_name: str | None = None) -> int:
    return int(_s3().head_object(Bucket=bucket_name or bucket(), Key=key)["ContentLength"])


def read_bytes(key: str) -> bytes:
    return bytes(_s3().get_object(Bucket=bucket(), Key=key)["Body"].read())


def presigned_put(key: str, content_type: str, expires_seconds: int = 900) -> str:
    return str(
        _s3().generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket(), "Key": key, "ContentType": content_type},
            ExpiresIn=expires_seconds,
        )
    )


@lru_cache(maxsize=1)
def _s3() -> Any:
    return client("s3")


def reset() -> None:
    _s3.cache_clear()
