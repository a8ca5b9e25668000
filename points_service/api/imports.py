"""POST /api/v1/imports: service records from a spreadsheet (.xlsx or .csv), all rows or none.

The activities service tells the kind of file by its bytes (the name must agree) and
refuses files over its limits: 413 names the limit in ``details.limit`` and
``details.maximum``, 415 is a file that is not an .xlsx workbook or CSV text. Every row
problem comes back at once in ``details.rows``; uploading the same file again imports
nothing twice.
"""

from flask_login import current_user

from ..activities import imports
from . import error_responses
from .auth import organization_of_request, resource_blueprint
from .idempotency import idempotent_when_keyed
from .schemas import ImportResultSchema, ImportSchema

blp = resource_blueprint("imports", __name__, "/imports", "Spreadsheet imports of service records.")


@blp.route("", methods=["POST"])
@blp.arguments(ImportSchema, location="multipart")
@idempotent_when_keyed
@blp.response(201, ImportResultSchema)
@blp.alt_response(200, schema=ImportResultSchema, description="The same file was imported before.", success=True)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 429)
def import_service_records(body):
    """Import service records from a spreadsheet: every row, or none with every problem listed"""
    upload = body["file"]
    organization = organization_of_request(body.get("organization_id"), "import.run", "organization_id")
    content = imports.upload_bytes(upload)
    result = imports.import_records(current_user, organization, upload.filename, content)
    return result, 200 if result.replayed else 201
