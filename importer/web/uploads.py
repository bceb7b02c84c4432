"""Checking an uploaded file before anything reads it: name, extension and content.

A clerk may pick the wrong file; a visitor may send anything.  The name is
made safe, the extension must be ``.csv`` or ``.xlsx``, and the first bytes
must agree: an XLSX is a ZIP archive, a CSV is text (no NUL bytes).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO

from werkzeug.utils import secure_filename

ALLOWED = {".csv", ".xlsx"}
_ZIP_MAGIC = b"PK\x03\x04"
_SNIFF = 64 * 1024


class UploadRefused(ValueError):
    """The upload is not a spreadsheet we read; the message is for the clerk."""


def check_content(suffix: str, head: bytes) -> None:
    """Refuse content that does not match the extension (a renamed PDF, an empty file...)."""
    if not head:
        raise UploadRefused("the file is empty")
    if suffix == ".xlsx" and not head.startswith(_ZIP_MAGIC):
        raise UploadRefused("this file is called .xlsx but is not an Excel workbook")
    if suffix == ".csv":
        if head.startswith(_ZIP_MAGIC):
            raise UploadRefused("this file is called .csv but is a workbook or archive: save it as .xlsx")
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise UploadRefused("this file is called .csv but is not text")


def new_upload_dir(folder: Path) -> Path:
    """A fresh random sub-folder of the session's folder for one upload (one or more files)."""
    target_dir = folder / "uploads" / secrets.token_hex(8)
    target_dir.mkdir(parents=True, mode=0o700)
    return target_dir


def save_upload(filename: str | None, stream: IO[bytes], target_dir: Path) -> Path:
    """Check and store one uploaded file in ``target_dir``; return its path.

    The clerk's file name is kept (made safe) because reports are named after it.
    """
    name = secure_filename(filename or "")
    suffix = Path(name).suffix.lower()
    if not name or suffix not in ALLOWED:
        raise UploadRefused("choose a .csv or .xlsx file")
    head = stream.read(_SNIFF)
    check_content(suffix, head)
    target = target_dir / (Path(name).stem + suffix)
    if target.exists():
        raise UploadRefused("two files have the same name")
    with target.open("wb") as out:
        out.write(head)
        while chunk := stream.read(1024 * 1024):
            out.write(chunk)
    return target
