"""Merge translations from a Python dict file into a .po catalogue (a translator's helper).

Usage: python scripts/fill_catalog.py LOCALE DICT_FILE
DICT_FILE defines ID = {msgid: msgstr}; plural msgids are tuples mapping to tuples.
Only empty entries are filled; existing translations are kept.
"""
import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

locale, dict_file = sys.argv[1], sys.argv[2]
translations = runpy.run_path(dict_file)["ID"]
path = Path(__file__).resolve().parent.parent / "participation/translations" / locale / "LC_MESSAGES/messages.po"
with open(path, "rb") as handle:
    catalog = read_po(handle, locale=locale)
filled = 0
for message in catalog:
    if not message.id or (message.string and any(message.string if isinstance(message.string, tuple) else [message.string])):
        continue
    value = translations.get(message.id)
    if value is None:
        continue
    message.string = value
    filled += 1
with open(path, "wb") as handle:
    write_po(handle, catalog, width=100, omit_header=False, no_location=True, sort_output=True)
print(f"filled {filled} entries in {path}")
