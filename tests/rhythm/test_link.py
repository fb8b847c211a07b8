"""Two Ableton Link sessions on loopback in one process: the same tempo, beats within a few ms."""
import time

import pytest

from liveart.rhythm.link import LinkSession, link_available, wait_for_peers
from liveart.rhythm.section import Rhythm
from liveart.params import ParamStore

pytestmark = pytest.mark.skipif(link_available() is not None,
                                reason=link_available() or "")


def test_two_sessions_share_tempo_and_phase():
    a, b = LinkSession(120.0), LinkSession(97.0)
    try:
        assert wait_for_peers(a) and wait_for_peers(b), "the two Link sessions never met"
        a.set_tempo(133.0)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and abs(b.tempo_and_beat()[0] - 133.0) > 0.01:
            time.sleep(0.02)
        (ta, beat_a), (tb, beat_b) = a.tempo_and_beat(), b.tempo_and_beat()
        assert abs(ta - 133.0) < 0.01 and abs(tb - 133.0) < 0.01, (ta, tb)
        gap_ms = abs(beat_a - beat_b) * 60.0 / 133.0 * 1000.0
        assert gap_ms < 5.0, f"the sessions' beats are {gap_ms:.2f} ms apart"
    finally:
        a.close()
        b.close()


def test_the_show_follows_link_and_sets_its_tempo():
    """tempo.source link: the show's tempo is the session's; setting tempo.bpm moves the session."""
    peer, ours = LinkSession(128.0), LinkSession(120.0)
    store = ParamStore({"tempo.source": "link"})
    rhythm = Rhythm(store, link=ours)
    try:
        assert wait_for_peers(ours)
        peer.set_tempo(128.0)
        time.sleep(0.3)
        snap = store.snapshot()
        assert abs(snap.rhythm["bpm"] - 128.0) < 0.05, snap.rhythm
        assert abs(store.get("tempo.bpm") - 128.0) < 0.05  # reported for OSC and the HUD
        store.set("tempo.bpm", 140.0)
        store.snapshot()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and abs(peer.tempo_and_beat()[0] - 140.0) > 0.01:
            time.sleep(0.02)
        assert abs(peer.tempo_and_beat()[0] - 140.0) < 0.01
        beat_peer = peer.tempo_and_beat()[1]
        beat_show = store.snapshot().rhythm["beat_position"]
        assert abs(beat_show - beat_peer) * 60 / 140 < 0.005
    finally:
        rhythm.stop()
        peer.close()
