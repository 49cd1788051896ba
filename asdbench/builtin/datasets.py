"""Built-in datasets (placeholder, replaced by the module's owner)."""

from ..hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    pass
