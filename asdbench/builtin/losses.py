"""Built-in losses (placeholder, replaced by the module's owner)."""

from ..hookspecs import hookimpl


@hookimpl
def register_losses(register):
    pass
