"""Command groups of ``hp-archive`` beyond the core ones in :mod:`hp_archive.cli`.

Each module defines ``register(subparsers)`` adding its sub-commands; each command function only
parses, calls a service function and prints (STYLE rule 1). :mod:`hp_archive.commands.common`
holds what they share: the archive from the environment, the clock, JSON and table printing.
"""
