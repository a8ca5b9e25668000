"""Translation helpers shared by every domain.

Text the server writes for later (a ledger entry's reason) is stored as its message id,
marked with ``N_`` so that it is extracted into the catalogs, and translated only when
shown, by ``stored_text``. Text a person typed (a void reason, a perk's name) is stored
apart from it and never translated: passed through ``gettext`` it could match a message
id, and in a template ``_()`` marks its result as safe HTML.
"""

from flask_babel import gettext


def N_(message):
    """Mark a stored text (a ledger reason, say) for extraction; it is translated when shown."""
    return message


def stored_text(message_id):
    """The translation of a message id the server stored (``N_``), as plain text that a
    template escapes like any other value."""
    return gettext(message_id) if message_id else ""
