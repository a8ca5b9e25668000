"""POST /api/v1/imports: service records from a spreadsheet (.xlsx or .csv), all rows or none.

The upload is checked here before the activities service reads it: the name must end
in .xlsx or .csv and the bytes must look like that kind of file (an .xlsx is a zip
archive; a CSV is text). Every row problem comes back at once in ``details.rows``;
uploading the same file again imports nothing twice.
"""

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..activities import imports
from ..errors import PointsError
from . import error_responses
from .auth import organization_of_request, resource_blueprint
from .idempotency import idempotent_when_keyed
from .schemas import ImportResultSchema, ImportSchema

blp = resource_blueprint("imports", __name__, "/imports", "Spreadsheet imports of service records.")

_ZIP_MAGIC = b"PK\x03\x04"


class UnsupportedUpload(PointsError):
    status = 415
    code = "unsupported_file_type"
    default_message = _l("Upload an .xlsx spreadsheet or a .csv file (UTF-8 or GB18030 text).")


def checked_upload(storage):
    """The uploaded file's name and bytes, when its name and content agree on xlsx or csv."""
    filename = (getattr(storage, "filename", None) or "").strip()
    content = storage.read() if hasattr(storage, "read") else b""
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        if not content.startswith(_ZIP_MAGIC):
            raise UnsupportedUpload()
    elif lowered.endswith(".csv"):
        if b"\x00" in content or content.startswith(_ZIP_MAGIC):
            raise UnsupportedUpload()
    else:
        raise UnsupportedUpload()
    return filename, content


@blp.route("", methods=["POST"])
@blp.arguments(ImportSchema, location="multipart")
@idempotent_when_keyed
@blp.response(201, ImportResultSchema)
@blp.alt_response(200, schema=ImportResultSchema, description="The same file was imported before.", success=True)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 429)
def import_service_records(body):
    """Import service records from a spreadsheet: every row, or none with every problem listed"""
    filename, content = checked_upload(body["file"])
    organization = organization_of_request(body.get("organization_id"), "import.run", "organization_id")
    result = imports.import_records(current_user, organization, filename, content)
    return result, 200 if result.replayed else 201
