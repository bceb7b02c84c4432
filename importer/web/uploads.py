"""Checking an uploaded file before anything reads it: name, extension and content.

A clerk may pick the wrong file; a visitor may send anything.  The
extension must be ``.csv`` or ``.xlsx``, and the first bytes must agree: an
XLSX is a ZIP archive, a CSV is text (no NUL bytes).  A name in any script
(``名簿.xlsx``, ``Список.csv``) is kept for display; the file is stored under
a safe ASCII name.
"""

from __future__ import annotations

import secrets
import unicodedata
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


def display_name(filename: str | None) -> str:
    """The clerk's file name for display: the last path part, without control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    return name.strip()[:200]


def save_upload(filename: str | None, stream: IO[bytes], target_dir: Path) -> tuple[Path, str]:
    """Check and store one uploaded file in ``target_dir``; return its path and its display name.

    Reports are named after the stored file, so its name stays close to the
    clerk's when it is ASCII (``roster.xlsx``) and is ``upload.xlsx`` when not.
    """
    shown = display_name(filename)
    stem, suffix = Path(shown).stem, Path(shown).suffix.lower()
    if not stem or suffix not in ALLOWED:
        raise UploadRefused("choose a .csv or .xlsx file")
    head = stream.read(_SNIFF)
    check_content(suffix, head)
    safe = secure_filename(stem) or "upload"
    target, n = target_dir / (safe + suffix), 1
    while target.exists():
        n += 1
        target = target_dir / f"{safe}-{n}{suffix}"
    with target.open("wb") as out:
        out.write(head)
        while chunk := stream.read(1024 * 1024):
            out.write(chunk)
    return target, shown
