"""Shipped presets (TOML files); packaged as liveart.shipped_presets (not liveart.presets: that is the module reading them)."""
