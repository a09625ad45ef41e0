"""Files that the library writes out for a user, kept as real source so they are linted and
tested as code: :mod:`fusion.templates.reproduce` is the script that
:func:`fusion.export.reproduce_script` fills in with a run."""
