"""Built-in embedders (placeholder, replaced by the module's owner)."""

from ..hookspecs import hookimpl


@hookimpl
def register_embedders(register):
    pass
