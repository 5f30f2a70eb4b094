"""Built-in indicator plugins. Each module is registered through the entry-point group ``scoring.plugins``."""
