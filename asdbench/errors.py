"""User-facing errors: the CLI prints them as one line and exits non-zero, never a traceback."""

from __future__ import annotations


class AsdbenchError(Exception):
    """A mistake in the user's input (file, option, plugin) that deserves a one-line message."""


class DataError(AsdbenchError):
    """A data file or folder cannot be used; the message names it."""


class PluginError(AsdbenchError):
    """A plugin is broken or two plugins collide; the message names them."""


class ConfigError(AsdbenchError):
    """An option or config-file value is invalid; the message names the option."""


class PreflightError(ConfigError):
    """Several problems found before any work started; printed one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
