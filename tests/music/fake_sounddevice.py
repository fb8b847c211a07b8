"""A stand-in for the sounddevice module (no sound card here): OutputStream with the same
constructor, start/stop/close and `active`, calling the callback from its own thread at the
block rate while the 'device' is plugged in. Unplugging stops the callbacks (as PortAudio does
when a USB interface goes away) and makes opening fail until it is plugged back."""
from __future__ import annotations

import threading
import time

import numpy as np


class PortAudioError(Exception):
    pass


class FakeSoundDevice:
    PortAudioError = PortAudioError

    def __init__(self):
        self.present = True
        self.opened = 0

    def OutputStream(self, samplerate, channels, dtype, blocksize, device, callback):  # noqa: N802
        if not self.present:
            raise PortAudioError("Error querying device -1")
        self.opened += 1
        return _Stream(self, samplerate, channels, blocksize, callback)

    # -- input: `signal` (mono float32) is what the 'microphone' hears, looping ---------------
    signal = np.zeros(48000, np.float32)
    input_rate = 48000

    def query_devices(self, device=None, kind=None):
        if not self.present or device not in (None, 0, "Fake Mic"):
            raise ValueError(f"No input device matching {device!r}")
        return {"name": "Fake Mic", "default_samplerate": float(self.input_rate),
                "max_input_channels": 1}

    def InputStream(self, device, channels, dtype, samplerate, blocksize, callback):  # noqa: N802
        if not self.present:
            raise PortAudioError("Error querying device -1")
        self.opened += 1
        return _InputStream(self, samplerate, channels, blocksize, callback)


class _Stream:
    def __init__(self, device, samplerate, channels, blocksize, callback):
        self.device, self.sr, self.blocksize, self.callback = device, samplerate, blocksize, callback
        self.out = np.zeros((blocksize, channels), np.float32)
        self.active = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.active = True
        self._thread.start()

    def _run(self):
        period = self.blocksize / self.sr
        while not self._stop.wait(period):
            if self.device.present:  # unplugged: the callbacks just stop coming
                self.callback(self.out, self.blocksize, None, None)

    def stop(self):
        self._stop.set()
        self.active = False
        if self._thread.is_alive():
            self._thread.join(timeout=1)

    def close(self):
        self.stop()


class _InputStream(_Stream):
    """Delivers the device's `signal` block by block at the block rate, as a sound card does."""

    def __init__(self, device, samplerate, channels, blocksize, callback):
        super().__init__(device, samplerate, channels, blocksize, callback)
        self.pos = 0

    def _run(self):
        period = self.blocksize / self.sr
        t0, blocks = time.monotonic(), 0
        while not self._stop.is_set():
            blocks += 1
            delay = t0 + blocks * period - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if not self.device.present:
                continue
            sig, n = self.device.signal, len(self.device.signal)
            idx = (self.pos + np.arange(self.blocksize)) % n
            self.out[:, 0] = sig[idx]
            self.pos = (self.pos + self.blocksize) % n
            self.callback(self.out, self.blocksize, None, None)
