"""Both languages are complete: every string in the code is in the catalogs, and every
catalog entry is translated (none empty, none fuzzy)."""

import os
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
TRANSLATIONS = os.path.join(PROJECT, "points_service", "translations")


def _catalog(path, locale=None):
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale)


def _ids(catalog):
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    target = tmp_path_factory.mktemp("messages") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
    command += ["-k", "_l", "-k", "N_", "--no-location", "-o", str(target), "points_service", "admin"]
    subprocess.run(command, cwd=PROJECT, check=True, capture_output=True)
    return _ids(_catalog(target))


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_every_string_in_the_code_is_translated(extracted, locale):
    catalog = _catalog(os.path.join(TRANSLATIONS, locale, "LC_MESSAGES", "messages.po"), locale)
    translated = {
        message.id
        for message in catalog
        if message.id
        and "fuzzy" not in message.flags
        and (all(message.string) if isinstance(message.string, tuple) else message.string)
    }
    missing = sorted(str(m) for m in extracted - translated)
    assert missing == [], f"{len(missing)} strings untranslated in {locale}, e.g. {missing[:5]}"


def test_chinese_catalog_is_really_chinese():
    catalog = _catalog(os.path.join(TRANSLATIONS, "zh_Hans_CN", "LC_MESSAGES", "messages.po"), "zh_CN")
    texts = [m.string for m in catalog if m.id and isinstance(m.string, str) and m.string]
    with_han = [t for t in texts if any("\u4e00" <= char <= "\u9fff" for char in t)]
    assert len(with_han) >= 0.9 * len(texts)


def test_placeholders_survive_translation():
    import re

    catalog = _catalog(os.path.join(TRANSLATIONS, "zh_Hans_CN", "LC_MESSAGES", "messages.po"), "zh_CN")
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string:
            assert sorted(pattern.findall(message.id)) == sorted(pattern.findall(message.string)), message.id
