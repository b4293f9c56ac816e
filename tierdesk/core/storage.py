"""Attachment bytes on disk, content-addressed (sha256), outside the database.

A file is written to a temporary name and renamed into place, so a crash never leaves a
half-written attachment under its final name. Identical uploads share one file.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from pathlib import Path

from tierdesk.core.errors import InvalidInput, PayloadTooLarge

# Leading bytes of the formats we accept, so a renamed executable is not stored as a PNG.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> tuple[str, str]:
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        target = self.root / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        return key, digest

    def path(self, key: str) -> Path:
        return self.root / key


def check_upload(
    filename: str, declared_type: str | None, data: bytes, allowed: list[str], max_bytes: int
) -> str:
    """Return the content type to store, or raise a clear error."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"'{filename}' is {len(data):,} bytes; the limit is {max_bytes:,} bytes.")
    if not data:
        raise InvalidInput(f"'{filename}' is empty.", field="file")
    guessed = mimetypes.guess_type(filename)[0]
    ctype = (declared_type or "").split(";")[0].strip().lower()
    if not ctype or ctype == "application/octet-stream":
        ctype = guessed or "application/octet-stream"
    if ctype not in allowed:
        raise InvalidInput(
            f"Files of type {ctype} are not accepted. Allowed: {', '.join(sorted(allowed))}.", field="file"
        )
    if guessed and guessed != ctype and not (guessed.startswith("text/") and ctype.startswith("text/")):
        raise InvalidInput(f"'{filename}' is named like {guessed} but was sent as {ctype}.", field="file")
    if data.startswith(_EXECUTABLE):
        raise InvalidInput(f"'{filename}' looks like a program; programs are not accepted.", field="file")
    signatures = _MAGIC.get(ctype)
    if signatures and not data.startswith(signatures):
        raise InvalidInput(f"'{filename}' does not look like a real {ctype} file.", field="file")
    return ctype
