"""Shipped presets (TOML files); packaged as liveart.presets."""
