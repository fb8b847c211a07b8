"""The music voice: the network's activations, heard.

summary (what the scene publishes each tick) -> composer (notes on a clock) -> synth (built-in
sound), outputs (MIDI, OSC, the MusicVoice thread) and offline (render_music, mux).
The music.* parameters are declared in liveart/params/music.py.
"""
