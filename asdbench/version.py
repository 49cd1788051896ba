"""asdbench's version (one place: the package, the plugin template and run provenance read it)."""

__version__ = "0.1.0"
