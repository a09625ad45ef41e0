"""The test suite (a package, so that ``tests`` is ours even when an installed package ships a top-level ``tests``, as mvlearn does)."""
