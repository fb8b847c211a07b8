"""`liveart devices`: what this machine offers. Every probe reports "none" rather than failing."""
from __future__ import annotations

import glob
import logging
import os

log = logging.getLogger(__name__)

V4L_BY_ID = "/dev/v4l/by-id"


def _cameras() -> list[dict]:
    """Video capture devices. On Linux the /dev/video* nodes (no opening: that can take seconds
    per node and would grab a camera another program is using); elsewhere probe indices 0-3."""
    import sys

    if sys.platform.startswith("linux"):
        # by-id names survive reboots and replugging into another port (/dev/videoN doesn't):
        # list them first, with the node each points to now
        by_id = [{"name": path, "description": f"now {os.path.realpath(path)}; stable across "
                  "replugs (--source camera:" + path + ")"}
                 for path in sorted(glob.glob(os.path.join(V4L_BY_ID, "*")))]
        return by_id + [{"name": path, "description": ""}
                        for path in sorted(glob.glob("/dev/video*"))]
    import cv2

    found = []
    for i in range(4):
        cap = cv2.VideoCapture(i)
        if cap.isOpened():
            found.append({"name": f"camera:{i}", "description": ""})
        cap.release()
    return found


def _midi() -> tuple[list[dict], list[dict]]:
    try:
        import mido

        ins = [{"name": n, "description": ""} for n in mido.get_input_names()]
        outs = [{"name": n, "description": ""} for n in mido.get_output_names()]
        return ins, outs
    except Exception as e:  # no ALSA sequencer, no backend: nothing to list
        log.debug("MIDI unavailable: %s", e)
        return [], []


def _audio_outputs() -> list[dict]:
    try:
        import sounddevice as sd

        return [{"name": d["name"], "description": f"{d['max_output_channels']} channels"}
                for d in sd.query_devices() if d["max_output_channels"] > 0]
    except Exception as e:  # OSError when PortAudio is missing
        log.debug("audio unavailable: %s", e)
        return []


def _audio_inputs() -> list[dict]:
    """Sound card inputs for --audio-in (by number or name)."""
    try:
        import sounddevice as sd

        return [{"name": d["name"], "description": f"--audio-in {i}; {d['max_input_channels']} "
                 f"channels, {d['default_samplerate']:.0f} Hz"}
                for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    except Exception as e:  # OSError when PortAudio is missing
        log.debug("audio unavailable: %s", e)
        return []


def _tempo_sources() -> list[dict]:
    """Where the show's tempo can come from here (tempo.source)."""
    from .rhythm.link import link_available

    why = link_available()
    return [{"name": "internal, tap, midi, audio", "description": "always (midi with a MIDI "
             "input, audio with --audio-in)"},
            {"name": "link", "description": "usable: liveart run --link" if why is None
             else f"unavailable: {why}"}]


def _outputs() -> list[dict]:
    """Every --output kind: usable here or not, why, and the command that would enable it."""
    from .outputs.registry import availability

    rows = []
    for row in availability():
        if row["usable"]:
            description = f"usable: {row['reason']}"
        else:
            description = f"unavailable: {row['reason']}" + (
                f"; to enable: {row['enable']}" if row["enable"] else "")
        rows.append({**row, "description": description})
    return rows


def list_devices() -> dict[str, list[dict]]:
    from .device import available_devices

    midi_in, midi_out = _midi()
    return {"cameras": _cameras(), "midi_inputs": midi_in, "midi_outputs": midi_out,
            "audio_outputs": _audio_outputs(), "audio_inputs": _audio_inputs(),
            "tempo_sources": _tempo_sources(), "torch_devices": available_devices(),
            "outputs": _outputs()}
