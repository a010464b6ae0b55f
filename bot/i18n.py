"""User texts from gettext catalogues (``bot/locales/<lang>/LC_MESSAGES/messages.po``), read
with Babel. Message ids are stable keys; handlers ask for a key, never spell out a text."""

from __future__ import annotations

import string
from importlib import resources

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from core.users import Language


class MissingText(KeyError):
    pass


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


class Texts:
    def __init__(self, catalogs: dict[Language, dict[str, str]]) -> None:
        self._catalogs = catalogs

    @classmethod
    def load(cls) -> Texts:
        catalogs = {lang: _read(lang) for lang in Language}
        texts = cls(catalogs)
        texts.check()
        return texts

    def keys(self, language: Language) -> set[str]:
        return set(self._catalogs[language])

    def check(self) -> None:
        """Both languages have the same keys with the same placeholders, and none is empty."""
        reference = self._catalogs[Language.EN]
        for language, catalog in self._catalogs.items():
            if set(catalog) != set(reference):
                diff = set(catalog) ^ set(reference)
                raise ValueError(f"catalogue {language} differs from en in keys: {sorted(diff)}")
            for key, text in catalog.items():
                if not text.strip():
                    raise ValueError(f"catalogue {language}: {key} is empty")
                if placeholders(text) != placeholders(reference[key]):
                    raise ValueError(f"catalogue {language}: {key} placeholders differ from en")

    def get(self, language: Language, key: str, /, **params: object) -> str:
        try:
            text = self._catalogs[language][key]
        except KeyError:
            raise MissingText(key) from None
        return text.format(**params)


def _read(language: Language) -> dict[str, str]:
    path = resources.files("bot") / "locales" / language.value / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog: Catalog = read_po(handle, locale=None)
    return {message.id: message.string for message in catalog if message.id and message.string}
