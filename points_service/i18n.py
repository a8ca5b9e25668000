"""Translation helpers shared by every domain.

Text the server writes for later (a ledger entry's reason) is stored as its message id,
marked with ``N_`` so that it is extracted into the catalogs, and translated only when
shown, by ``stored_text``. Text a person typed (a void reason, a perk's name) is stored
apart from it and never translated: passed through ``gettext`` it could match a message
id, and in a template ``_()`` marks its result as safe HTML.
"""

from babel.lists import format_list
from flask_babel import get_locale, gettext


def N_(message):
    """Mark a stored text (a ledger reason, say) for extraction; it is translated when shown."""
    return message


def stored_text(message_id):
    """The translation of a message id the server stored (``N_``), as plain text that a
    template escapes like any other value."""
    return gettext(message_id) if message_id else ""


def _in_chinese():
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def list_text(items, style="standard"):
    """Items as one list in the page's language: "A, B, and C" or "A、B和C" (``style="or"``:
    "A, B, or C" / "A、B或C")."""
    items = [str(item) for item in items]
    if not items:
        return ""
    return format_list(items, style=style, locale=get_locale() or "en")


def sentence(parts):
    """Clauses as one sentence in the page's language: "3 approved, 1 rejected." or
    "3 条已批准，1 条已驳回。"."""
    if _in_chinese():
        return "，".join(str(part) for part in parts) + "。"
    return ", ".join(str(part) for part in parts) + "."
