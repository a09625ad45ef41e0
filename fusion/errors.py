"""Error types of the project.

Everything a user can get wrong (a file, a parameter, a configuration) raises a
:class:`FusionError`, a ``ValueError`` subclass whose message names the file,
column or row at fault and says how to fix it. Pages catch it and show the
message; the command line prints it and exits non-zero. Anything else escaping
is a bug.
"""


class FusionError(ValueError):
    """A problem the user can fix; the message says what and how."""


class DataError(FusionError):
    """Malformed or unusable input data (files, arrays, generator parameters)."""


class ConfigError(FusionError):
    """An invalid model or training configuration, refused before any work."""


class TrainingError(FusionError):
    """A fault during training (out of memory on the device, ...)."""
