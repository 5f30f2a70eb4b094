"""Standard rubrics shipped with the engine (TOML files beside this module)."""
