"""The rhythm section: one tempo for the show (internal, tap, MIDI clock, Ableton Link or the
music itself), what the room's music is doing (audio in), and modulators that move any numeric
parameter with them."""
