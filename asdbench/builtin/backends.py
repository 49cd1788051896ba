"""Built-in backends (placeholder, replaced by the module's owner)."""

from ..hookspecs import hookimpl


@hookimpl
def register_backends(register):
    pass
