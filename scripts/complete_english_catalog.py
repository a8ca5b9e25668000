"""The source strings are English: fill the English catalog's empty entries with them,
so both catalogs are complete and an English reader never sees a fallback."""

import sys

from babel.messages.pofile import read_po, write_po

path = sys.argv[1] if len(sys.argv) > 1 else "points_service/translations/en/LC_MESSAGES/messages.po"
with open(path, "rb") as handle:
    catalog = read_po(handle, locale="en")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        if not all(message.string):
            message.string = (message.id[0], message.id[1])
    elif not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as handle:
    write_po(handle, catalog, width=100, omit_header=False)
