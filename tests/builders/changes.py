"""A change kind for tests of the change-request path: renaming a service category.

Its ``apply`` calls the rules service, so approving has a visible, audited effect."""

from contextlib import contextmanager

from points_service.changes import service as changes
from points_service.rules import service as rules

RENAME_CATEGORY = "test.rename_category"


def _apply(reviewer, request, now):
    category = rules.get_category(request.payload["code"])
    rules.update_category(reviewer, category, name_en=request.payload["name_en"])
    return {"code": category.code}


@contextmanager
def rename_category_kind():
    """Register the test kind for the duration of a test; yields the list of applied request ids."""
    applied = []

    def apply(reviewer, request, now):
        applied.append(request.id)
        return _apply(reviewer, request, now)

    changes.register_change_kind(RENAME_CATEGORY, permission="rules.manage", label="Rename a category", apply=apply)
    try:
        yield applied
    finally:
        changes._KINDS.pop(RENAME_CATEGORY, None)


class ChangesBuilder:
    def rename_request(self, author, organization, code="elderly_care", name="Care for the elderly"):
        """A pending request (made by ``author``) to rename the category ``code``."""
        return changes.request_change(
            author,
            RENAME_CATEGORY,
            organization,
            target_type="category",
            target_id=code,
            payload={"code": code, "name_en": name},
            diff=[{"field": "name_en", "before": rules.get_category(code).name_en, "after": name}],
        )
