"""Shipped MIDI controller maps (TOML); packaged as liveart.midimaps."""
