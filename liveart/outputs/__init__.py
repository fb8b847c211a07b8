"""Where frames go: the performer window (and later other outputs)."""
