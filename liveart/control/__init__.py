"""Controllers: OSC, OSCQuery, MIDI, and the actions they share."""
