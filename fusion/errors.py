"""Error types of the project.

Everything a user can get wrong (a file, a parameter, a configuration) raises a
:class:`FusionError`, a ``ValueError`` subclass whose message names the file,
column or row at fault and says how to fix it. Pages catch it and show the
message; the command line prints it and exits non-zero. Anything else escaping
is a bug.

Messages are catalogue keys with parameters (see :mod:`fusion.i18n`), so a page can
show the same message in the visitor's language: ``str(err)`` is English,
``err.localized("zh")`` is Chinese. A plain sentence instead of a key still works
(it is shown as given), but ``tests/test_i18n.py`` flags it.
"""

from __future__ import annotations

from typing import Any

from fusion.i18n import DEFAULT_LANGUAGE, translate


class FusionError(ValueError):
    """A problem the user can fix; the message says what and how.

    ``key`` names the message in the catalogue; ``params`` fill its placeholders.
    """

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(translate(key, DEFAULT_LANGUAGE, **params))

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (English when the language is unknown)."""
        return translate(self.key, lang, **self.params)

    def __reduce__(self):  # keep key and params across pickling (process pools)
        return (_rebuild, (type(self), self.key, self.params))


def _rebuild(cls: type[FusionError], key: str, params: dict[str, Any]) -> FusionError:
    return cls(key, **params)


class DataError(FusionError):
    """Malformed or unusable input data (files, arrays, generator parameters)."""


class ConfigError(FusionError):
    """An invalid model or training configuration, refused before any work."""
