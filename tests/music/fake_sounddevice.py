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
