"""The pygame window on a real X server (Xvfb): pixels on screen, HUD, notice bar, keys."""
from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time

import numpy as np
import pytest

pygame = pytest.importorskip("pygame")
mss = pytest.importorskip("mss")

from liveart.outputs import window as window_mod  # noqa: E402
from liveart.outputs.window import KEYS, HudInfo, Window  # noqa: E402

from ..conftest import SCREEN_H, SCREEN_W, grab  # noqa: E402,F401

WIN_W, WIN_H = 640, 360
SHOT = "/tmp/window_shot.png"

# quadrant colours of the test frame: top-left, top-right, bottom-left, bottom-right
TL, TR, BL, BR = (200, 40, 40), (40, 190, 60), (50, 80, 220), (230, 210, 40)


@pytest.fixture
def win(xserver):
    w = Window((WIN_W, WIN_H), title="liveart test")
    wait_until_mapped()
    try:
        yield w
    finally:
        w.close()


def wait_until_mapped() -> None:
    """The X server maps a new window asynchronously: what is drawn before that is lost, so
    wait until it is on screen (as a person would see it) before testing pixels."""
    assert pygame.display.get_driver() == "x11"  # not pygame's silent offscreen fallback
    end = time.monotonic() + 5
    while not pygame.display.get_active() and time.monotonic() < end:
        pygame.event.pump()
        time.sleep(0.01)


def quadrants(w: int, h: int) -> np.ndarray:
    f = np.empty((h, w, 3), np.uint8)
    f[: h // 2, : w // 2] = TL
    f[: h // 2, w // 2 :] = TR
    f[h // 2 :, : w // 2] = BL
    f[h // 2 :, w // 2 :] = BR
    return f


def window_pixels() -> np.ndarray:
    return grab()[:WIN_H, :WIN_W]


def close_to(pixel, color, tol=6) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(color, int)) <= tol))


def press(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))


HUD = HudInfo(
    fps=24.6,
    stages_ms={"capture": 0.3, "to_device": 1.2, "scene": 30.1, "upscale": 2.0, "present": 1.1},
    device="cuda:0 (fp16)",
    size="256x144",
    scene="dream",
    changed=[("layer", "mixed4c"), ("octaves", "4")],
    labels=[("goldfish", 0.62), ("tench", 0.21), ("axolotl", 0.05)],
    notice="No camera: showing the synthetic scene (retrying camera:0)",
)


def hud_region_stats(px: np.ndarray):
    """Mean brightness and count of bright (text) pixels in the top-left HUD area."""
    region = px[10:110, 10:200].astype(int)
    lum = region.mean(axis=2)
    return lum.mean(), int((lum > 150).sum()), len(np.unique(region.reshape(-1, 3), axis=0))


def test_keys_list():
    assert [k for k, _ in KEYS] == ["F", "H", "Space", "Up/Down", "Left/Right", "R", "S", "L", "P", "C", "T", "Esc"]
    assert all(isinstance(d, str) and d for _, d in KEYS)


def test_window_shows_frame_hud_and_notice(win):
    assert pygame.display.get_driver() == "x11"
    assert pygame.display.get_surface().get_size() == (WIN_W, WIN_H)
    assert win.hud_visible

    frame = quadrants(320, 180)  # half size: exercises the scaling path
    win.show(frame, HUD)
    px = window_pixels()

    # quadrant colours where the (2x scaled) frame puts them, away from the HUD and notice bar
    assert close_to(px[WIN_H // 4, WIN_W * 3 // 4], TR)
    assert close_to(px[WIN_H * 3 // 4 - 30, WIN_W // 4], BL)
    assert close_to(px[WIN_H * 3 // 4 - 30, WIN_W * 3 // 4], BR)
    assert close_to(px[2, 2], TL)  # in the margin around the HUD panel

    # HUD panel: darker than the red quadrant under it, with many bright text pixels
    mean, bright, distinct = hud_region_stats(px)
    assert mean < np.mean(TL) - 30, mean
    assert bright > 200, bright
    assert distinct > 20, distinct

    # notice bar: amber across the bottom, with dark text on it
    bottom = px[WIN_H - 4]
    r, g, b = (int(c) for c in bottom[5])
    assert r > 180 and 90 < g < 150 and b < 60, bottom[5]  # amber
    bar = px[WIN_H - 30 :, :].astype(int)
    assert (bar.mean(axis=2) < 60).sum() > 50  # text glyphs

    _save(px)

    # H hides the HUD (the notice stays); the TL quadrant is clean again
    press(pygame.K_h)
    assert win.poll() == []
    assert not win.hud_visible
    win.show(frame, HUD)
    px = window_pixels()
    region = px[10:110, 10:200].reshape(-1, 3)
    assert all(close_to(p, TL) for p in region[:: 97])
    assert np.abs(region.astype(int) - TL).max() <= 6
    assert close_to(px[WIN_H - 4, 5], bottom[5], tol=3)  # notice still drawn

    # without a notice the bottom shows the frame
    win.show(frame, HudInfo())
    px = window_pixels()
    assert close_to(px[WIN_H - 4, 5], BL)

    # H again: HUD back
    press(pygame.K_h)
    win.poll()
    assert win.hud_visible
    win.show(frame, HUD)
    mean, bright, _ = hud_region_stats(window_pixels())
    assert mean < np.mean(TL) - 30 and bright > 200


def _save(px: np.ndarray) -> None:
    surf = pygame.image.frombuffer(np.ascontiguousarray(px), (px.shape[1], px.shape[0]), "RGB")
    pygame.image.save(surf, SHOT)


def test_fast_path_and_letterbox(win):
    # same size as the window: pixels exact
    frame = quadrants(WIN_W, WIN_H)
    win.show(frame, None)
    px = window_pixels()
    assert np.array_equal(px, frame)

    # square frame in a 16:9 window: black bars left and right, picture centred
    square = quadrants(200, 200)
    win.show(square, None)
    px = window_pixels()
    bar = (WIN_W - WIN_H) // 2
    assert px[:, : bar - 1].max() == 0 and px[:, bar + WIN_H + 1 :].max() == 0
    assert close_to(px[WIN_H // 4, bar + WIN_H // 4], TL)
    assert close_to(px[WIN_H * 3 // 4, bar + WIN_H * 3 // 4], BR)

    # HUD drawn over a bar must not pile up: after hiding it the bar is black again
    win.show(square, HUD)
    assert window_pixels()[20:60, 10:40].max() > 0
    press(pygame.K_h)
    win.poll()
    win.show(square, HUD)
    assert window_pixels()[20:60, 10:40].max() == 0


def test_non_contiguous_and_bad_frames(win):
    frame = quadrants(WIN_W, WIN_H)
    win.show(frame[:, ::-1], None)  # mirrored view: not C-contiguous
    px = window_pixels()
    assert close_to(px[WIN_H // 4, WIN_W // 4], TR)
    frame.flags.writeable = False  # e.g. a frame still shared with a capture thread
    win.show(frame, None)
    assert close_to(window_pixels()[WIN_H // 4, WIN_W // 4], TL)
    with pytest.raises(ValueError):
        win.show(np.zeros((10, 10), np.uint8), None)
    with pytest.raises(ValueError):
        win.show(np.zeros((10, 10, 3), np.float32), None)


def test_show_flips_once(win, monkeypatch):
    calls = []
    real_flip = pygame.display.flip
    monkeypatch.setattr(pygame.display, "flip", lambda: (calls.append(1), real_flip()))
    win.show(quadrants(320, 180), HUD)
    win.show(quadrants(WIN_W, WIN_H), HUD)
    assert len(calls) == 2


def test_hud_text_rendered_once(win, monkeypatch):
    win.show(quadrants(WIN_W, WIN_H), HUD)
    rendered = []
    real_text = Window._text

    def counting(self, text, color):
        if (text, color) not in self._text_cache:
            rendered.append(text)
        return real_text(self, text, color)

    monkeypatch.setattr(Window, "_text", counting)
    for _ in range(5):
        win.show(quadrants(WIN_W, WIN_H), HUD)
    assert rendered == []


def test_poll_maps_keys(win):
    pygame.event.clear()
    for key in (pygame.K_SPACE, pygame.K_UP, pygame.K_DOWN, pygame.K_RIGHT, pygame.K_LEFT,
                pygame.K_r, pygame.K_s, pygame.K_l, pygame.K_c, pygame.K_a, pygame.K_ESCAPE):
        press(key)
    assert win.poll() == ["freeze", "layer_up", "layer_down", "octaves_up", "octaves_down", "reset",
                          "save_preset", "midi_learn", "record", "quit"]
    assert win.poll() == []
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert win.poll() == ["quit"]


def test_fullscreen_toggle(win):
    press(pygame.K_f)
    assert win.poll() == []
    assert win.fullscreen
    assert pygame.display.get_surface().get_size() == (SCREEN_W, SCREEN_H)
    win.show(quadrants(320, 180), HUD)  # scales to the desktop
    px = grab()
    assert close_to(px[SCREEN_H // 4, SCREEN_W * 3 // 4], TR)
    press(pygame.K_f)
    win.poll()
    assert not win.fullscreen
    assert pygame.display.get_surface().get_size() == (WIN_W, WIN_H)


def test_size_from_first_frame_and_display_clamp(xserver, caplog):
    with caplog.at_level("WARNING", logger=window_mod.__name__):
        w = Window(None, display=5)
    try:
        assert any("Display 5" in r.getMessage() for r in caplog.records)
        w.show(quadrants(400, 300), HUD)
        assert pygame.display.get_surface().get_size() == (400, 300)
    finally:
        w.close()


def test_bundled_font_fallback(xserver, monkeypatch):
    """A bare system with no font packages: pygame's own font draws the HUD."""
    monkeypatch.setattr(pygame.font, "match_font", lambda *a, **k: None)
    w = Window((WIN_W, WIN_H))
    wait_until_mapped()
    try:
        w.show(quadrants(WIN_W, WIN_H), HUD)
        mean, bright, _ = hud_region_stats(window_pixels())
        assert mean < np.mean(TL) - 30 and bright > 200
    finally:
        w.close()


def test_no_display_is_said_not_hidden(xserver, monkeypatch, caplog):
    """With no X server to talk to, pygame silently opens an offscreen 'window': the show
    must say that nothing is visible instead of running to nobody."""
    pygame.display.quit()
    monkeypatch.setenv("DISPLAY", ":65000")  # no server there
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with caplog.at_level("ERROR", logger=window_mod.__name__):
        w = Window((64, 36))
    try:
        assert pygame.display.get_driver() in window_mod.INVISIBLE_DRIVERS
        assert any("No display answered (DISPLAY=:65000)" in r.getMessage()
                   for r in caplog.records), caplog.text
    finally:
        w.close()


def test_a_real_display_is_not_reported_missing(win, caplog):
    assert pygame.display.get_driver() == "x11"
    with caplog.at_level("ERROR", logger=window_mod.__name__):
        window_mod._say_if_invisible()
    assert caplog.records == []


# -- toasts: what a key did, on the notice bar for a moment ------------------------------------
TOAST_SHOT = "/tmp/window_toast.png"


def on_bar(pixel, bg) -> bool:
    """`pixel` is the bar's colour `bg` (alpha 240) over whatever the frame has there."""
    return all(c * 240 // 255 - 1 <= int(p) <= c * 240 // 255 + 16
               for p, c in zip(pixel, bg[:3]))


def bar_pixels(px: np.ndarray) -> np.ndarray:
    return px[WIN_H - 26:, :].astype(int)


def test_a_toast_takes_the_notice_bar_for_a_moment(win):
    frame = quadrants(WIN_W, WIN_H)
    standing = HudInfo(notice="No camera: showing the synthetic scene (retrying camera:0)")
    text = "Preset saved: ~/.config/liveart/presets/saved-20261203-081200.toml"
    win.toast(text, seconds=0.8)
    assert win.toast_text == text
    win.show(frame, standing)
    px = window_pixels()
    _save_as(px, TOAST_SHOT)
    assert on_bar(px[WIN_H - 4, 5], window_mod._TOAST_BG)
    assert (bar_pixels(px).min(axis=2) > 200).sum() > 150  # white glyphs on the blue bar
    assert win._fit(text, WIN_W - 2 * win._margin, cut_middle=True) == text  # it fits whole

    time.sleep(0.9)  # its time is up: the standing notice is back
    assert win.toast_text is None
    win.show(frame, standing)
    r, g, b = (int(c) for c in window_pixels()[WIN_H - 4, 5])
    assert r > 180 and 90 < g < 150 and b < 60  # amber

    win.toast("Preset not saved: the disk is full.", error=True)
    win.show(frame, HudInfo())  # a toast shows with no standing notice too
    assert on_bar(window_pixels()[WIN_H - 4, 5], window_mod._TOAST_ERROR_BG)


def test_a_long_toast_keeps_the_file_name(win):
    win.show(quadrants(WIN_W, WIN_H), HudInfo())
    long = "Snapshot: /home/someone/" + "very-long-folder-name/" * 6 + "liveart-20261203-081200-123.png"
    cut = win._fit(long, WIN_W - 2 * win._margin, cut_middle=True)
    assert cut.startswith("Snapshot: /home/") and cut.endswith("081200-123.png") and "..." in cut
    assert win._font.size(cut)[0] <= WIN_W - 2 * win._margin


def _save_as(px: np.ndarray, path: str) -> None:
    surf = pygame.image.frombuffer(np.ascontiguousarray(px), (px.shape[1], px.shape[0]), "RGB")
    pygame.image.save(surf, path)


def test_keys_say_what_they_did(xserver, tmp_path, monkeypatch):
    """A real show loop (run_window) in a real window: S, P, Up, Down, L, a control moved for
    MIDI learn, and S again with a folder it can't write; after each, the toast the window
    drew and the screen."""
    from types import SimpleNamespace

    import mido
    import torch

    from liveart import live as live_mod
    from liveart import params
    from liveart.control.actions import Actions
    from liveart.control.midicli import start_midi
    from liveart.engine import Engine
    from liveart.params import ParamStore
    from liveart.scenes.base import Scene
    from liveart.snapshot import start_snapshots
    from liveart.sources.synthetic import SyntheticSource

    class Plain(Scene):
        name = "plain"

        def process(self, frame, snap):
            return frame

    monkeypatch.setenv("LIVEART_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("LIVEART_SNAPSHOTS_DIR", str(tmp_path / "snaps"))
    store = ParamStore()
    actions = Actions(store)
    source = SyntheticSource(WIN_W, WIN_H, seed=1).start()
    engine = Engine(source, Plain(torch.device("cpu")), store, torch.device("cpu"), (64, 36))
    snaps = start_snapshots(engine, store, actions, "plain")
    midi = start_midi(store, actions, SimpleNamespace(midi="none"))
    layers = params.get("dream.layer").choices
    layer = store.get("dream.layer")
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    def plug_in_a_controller():  # as if --midi auto had opened one
        midi.watch = SimpleNamespace(port="nanoKONTROL2", stop=lambda: None)
        press(pygame.K_l)

    def move_a_control():  # two steps of one fader: learn assigns it
        for value in (10, 11):
            midi.learn.feed(mido.Message("control_change", channel=0, control=7, value=value))
        midi.watch = None

    def unwritable_config():
        monkeypatch.setenv("LIVEART_CONFIG_DIR", str(blocker / "cfg"))
        press(pygame.K_s)

    script = [("S", lambda: press(pygame.K_s)), ("P", lambda: press(pygame.K_p)),
              ("Up", lambda: press(pygame.K_UP)), ("Down", lambda: press(pygame.K_DOWN)),
              ("L, --midi none", lambda: press(pygame.K_l)), ("L", plug_in_a_controller),
              ("learned", move_a_control), ("S, can't", unwritable_config)]
    seen = {}

    class Scripted(live_mod.Window):
        step = None

        def poll(self):
            if self.step is None:  # the last step's toast was drawn: do the next
                if not script:
                    return ["quit"]
                self.step, act = script.pop(0)
                act()
            return super().poll()

        def show(self, frame, hud):
            super().show(frame, hud)
            assert pygame.display.get_driver() == "x11"  # a real window, not pygame's fallback
            if self.step is not None:
                seen[self.step] = (self.toast_text, self._toast[1] if self._toast else None,
                                   window_pixels().copy())
                self.step = None

    monkeypatch.setattr(live_mod, "Window", Scripted)
    args = SimpleNamespace(install=False, fullscreen=False, display=0, seconds=60, frames=None,
                           scene="plain")
    engine.start()
    try:
        live_mod.run_window(engine, args, (WIN_W, WIN_H), actions, midi=midi)
    finally:
        engine.stop()
        source.stop()
        snaps.stop()
    assert list(seen) == ["S", "P", "Up", "Down", "L, --midi none", "L", "learned", "S, can't"]

    text, error, px = seen["S"]
    saved = sorted((tmp_path / "cfg" / "presets").glob("saved-*.toml"))
    assert text == f"Preset saved: {saved[0]}" and not error
    _save_as(px, "/tmp/window_toast_preset.png")
    assert on_bar(px[WIN_H - 4, 5], window_mod._TOAST_BG)
    assert (bar_pixels(px).min(axis=2) > 200).sum() > 150  # white text on the bar

    text, error, px = seen["P"]
    assert text.startswith(f"Snapshot: {tmp_path / 'snaps'}/liveart-") and text.endswith(".png")
    assert (tmp_path / "snaps" / text.rsplit("/", 1)[1]).is_file()  # written where it said

    up = layers[min(layers.index(layer) + 1, len(layers) - 1)]
    assert seen["Up"][0] == f"Layer: {up}" and seen["Down"][0] == f"Layer: {layer}"
    assert seen["L, --midi none"][:2] == (
        "MIDI learn needs a MIDI input; this show runs with --midi none.", True)
    assert seen["L"][:2] == ("MIDI learn: move a control for dream.layer", False)
    text, error, _ = seen["learned"]
    assert text.startswith("MIDI learn: dream.layer <- ") and "7" in text and not error

    text, error, px = seen["S, can't"]
    assert error and ("Could not save preset 'saved-" in text or "Preset not saved" in text)
    _save_as(px, "/tmp/window_toast_error.png")
    assert on_bar(px[WIN_H - 4, 5], window_mod._TOAST_ERROR_BG)


def test_t_taps_the_tempo(win):
    pygame.event.clear()
    press(pygame.K_t)
    assert win.poll() == ["tap"]


def test_the_hud_shows_the_tempo_and_a_meter_per_modulator(win):
    from liveart.outputs.window import meter

    assert meter(0.0) == "----------" and meter(1.0) == "##########" and meter(0.0, bipolar=True) == "#####-----"
    quiet = HudInfo(fps=30.0, tempo="120.0 bpm tap",
                    mods=[("dream.zoom", "beat", 0.1), ("dream.mix", "lfo", -1.0)])
    loud = HudInfo(fps=30.0, tempo="120.0 bpm tap *",
                   mods=[("dream.zoom", "beat", 0.9), ("dream.mix", "lfo", 1.0)])
    text = ["".join(t for t, _ in line) for line in win._hud_lines(loud)]
    assert "120.0 bpm tap *" in text
    assert "dream.zoom beat #########-" in text and "dream.mix lfo ##########" in text
    frame = quadrants(WIN_W, WIN_H)
    bright = []
    for hud in (HudInfo(fps=30.0), quiet, loud):
        time.sleep(0.3)  # the HUD redraws changed numbers at most every 0.25 s
        win.show(frame, hud)
        lum = window_pixels()[10:160, 10:260].astype(int).mean(axis=2)
        bright.append(int((lum > 150).sum()))
    assert bright[0] < bright[1] < bright[2], bright  # more lines, then fuller meters
