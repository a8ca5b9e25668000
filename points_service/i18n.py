"""Translation helpers shared by every domain."""


def N_(message):
    """Mark a stored text (a ledger reason, say) for extraction; it is translated when shown."""
    return message
