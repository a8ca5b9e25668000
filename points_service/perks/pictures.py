"""Perk pictures: an uploaded file checked, re-encoded and stored under a content-addressed name.

An upload is never stored as sent. Its type is read from its first bytes (the file name
and the browser's Content-Type are ignored), its size and its pixel dimensions are
bounded before anything is decoded (a small PNG can claim 20000 x 20000 pixels and
need gigabytes once decoded), and only then is it decoded and drawn again by Pillow:
turned upright, shrunk to at most ``MAX_STORED_SIDE`` pixels a side, and written as
JPEG (or PNG when it has transparency) with no metadata (EXIF, GPS, comments, ICC).

The stored name is the SHA-256 of the stored bytes plus the extension, so the same
picture is stored once, a name never changes meaning (it may be cached forever) and
nobody can choose a name. Files live in ``PERK_PICTURE_DIR`` (default: the instance
folder's ``perk-pictures``). A refused upload raises before anything is written.
"""

import hashlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from ..errors import PointsError, ValidationError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_SIDE = 8000
MAX_UPLOAD_PIXELS = 40_000_000
MAX_STORED_SIDE = 1200
JPEG_QUALITY = 85
# The formats accepted, by their signature (the first bytes of the file).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
)
STORED_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png)\Z")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


class PictureRefused(ValidationError):
    code = "picture_refused"
    default_message = _l("That file is not a picture we accept: upload a PNG, JPEG or WebP picture.")


class PictureTooLarge(PointsError):
    status = 413
    code = "picture_too_large"
    default_message = _l("The picture is larger than %(megabytes)s MB; upload a smaller one.")


def _refuse(message=None, **params):
    return PictureRefused(message, details={"field": "picture"}, **params)


def _format_of(data):
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    # WebP: "RIFF", four bytes of length, "WEBP".
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _opened(data, expected_format):
    """The image, its header read but not decoded; refused when it claims too many pixels."""
    try:
        # Pillow warns (above 89 million pixels) or refuses (above twice that) while reading
        # the header; the warning is made an error here so that it refuses too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[expected_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError):
        raise _refuse(_l("The picture could not be read: the file is damaged or not really a picture.")) from None
    width, height = image.size
    if width < 1 or height < 1 or max(width, height) > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS:
        raise _too_many_pixels()
    return image


def _too_many_pixels():
    return _refuse(
        _l("The picture is too big: at most %(side)s pixels a side and %(megapixels)s million pixels."),
        side=MAX_UPLOAD_SIDE,
        megapixels=MAX_UPLOAD_PIXELS // 1_000_000,
    )


def _redrawn(image):
    """The picture drawn again: decoded, upright, shrunk, without metadata. (bytes, extension)."""
    try:
        image.load()  # its size was checked by ``_opened``, far below Pillow's own bomb limit
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError):
        raise _refuse(_l("The picture could not be read: the file is damaged or not really a picture.")) from None
    transparent = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    clean = upright.convert("RGBA" if transparent else "RGB")
    clean.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE))
    # A new image holds pixels only: nothing of the upload's metadata can come along.
    fresh = Image.new(clean.mode, clean.size)
    fresh.paste(clean)
    output = io.BytesIO()
    if transparent:
        fresh.save(output, format="PNG", optimize=True)
        return output.getvalue(), "png"
    fresh.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue(), "jpg"


def picture_directory():
    configured = current_app.config.get("PERK_PICTURE_DIR")
    return Path(configured or Path(current_app.instance_path) / "perk-pictures")


def prepare_picture(data):
    """Check and re-encode an upload; returns (stored bytes, stored name). Raises before any write."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise _refuse(_l("Choose a picture file to upload."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise PictureTooLarge(details={"field": "picture"}, megabytes=MAX_UPLOAD_BYTES // (1024 * 1024))
    found = _format_of(bytes(data[:16]))
    if found is None:
        raise _refuse()
    stored, extension = _redrawn(_opened(bytes(data), found))
    return stored, f"{hashlib.sha256(stored).hexdigest()}.{extension}"


def store_picture(stored, name):
    """Write prepared bytes under their name (once; atomically, so a reader never sees half a file)."""
    directory = picture_directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if path.exists():
        return path
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(stored)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def picture_path(name):
    """The file of a stored picture, or None for a name that is not one of ours or is missing."""
    if not isinstance(name, str) or not STORED_NAME.match(name):
        return None
    path = picture_directory() / name
    return path if path.is_file() else None


def content_type_of(name):
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]
