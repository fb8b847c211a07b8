"""The performer's window: shows frames scaled to fit, a HUD overlay, and turns keys into actions.

`Window.show(frame, hud)` draws one frame (uint8 HxWx3 RGB) letterboxed into the window, the HUD
panel (top-left, toggled with H) and the notice bar (bottom, drawn even with the HUD hidden), then
flips the display once. `Window.toast(text)` puts a short message on the notice bar for a few
seconds (what a key did: "Preset saved: ~/.config/liveart/presets/...", a refusal in red). `Window.poll()` handles pygame events: F (fullscreen) and H (HUD) are
handled here, every other key becomes an action string for the caller.

Cost per frame is kept small: a frame the size of the window is wrapped without copying
(`pygame.image.frombuffer`) and blitted straight onto the display surface (measured ~0.4 ms at
1280x720 on Xvfb, against ~1.3 ms for `surfarray.blit_array`); other sizes are resized with OpenCV
into a reused buffer. HUD text surfaces are rendered only when their text changes, and the
numbers on it (fps, stage times, label probabilities) are refreshed at most four times a second
so they stay readable.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

try:  # OpenCV gives a smooth (bilinear) resize; pygame's nearest-neighbour scale is the fallback
    import cv2
except ImportError:  # pragma: no cover - opencv is a dependency, but the window works without it
    cv2 = None

log = logging.getLogger(__name__)

KEYS: list[tuple[str, str]] = [
    ("F", "toggle fullscreen"),
    ("H", "toggle HUD"),
    ("Space", "freeze the picture"),
    ("Up/Down", "next/previous dream layer"),
    ("Left/Right", "fewer/more octaves"),
    ("R", "reset the dream"),
    ("S", "save the current state as a preset (saved-YYYYmmdd-HHMMSS)"),
    ("L", "MIDI learn for the last parameter changed: move a control twice to assign it"),
    ("P", "snapshot: save the picture as a PNG carrying every parameter"),
    ("C", "capture: start/stop recording (a timestamped .mp4 in the recordings folder)"),
    ("T", "tap the tempo (tempo.tap)"),
    ("Esc", "quit"),
]

_ACTIONS = {
    pygame.K_SPACE: "freeze",
    pygame.K_UP: "layer_up",
    pygame.K_DOWN: "layer_down",
    pygame.K_RIGHT: "octaves_up",
    pygame.K_LEFT: "octaves_down",
    pygame.K_r: "reset",
    pygame.K_s: "save_preset",
    pygame.K_l: "midi_learn",
    pygame.K_p: "snapshot",
    pygame.K_c: "record",
    pygame.K_t: "tap",
    pygame.K_ESCAPE: "quit",
}


METER_WIDTH = 10


def meter(value: float, bipolar: bool = False) -> str:
    """A text meter of `value` (0..1, or -1..1 when bipolar): '######----'."""
    v = (value + 1.0) / 2.0 if bipolar else value
    n = int(round(min(1.0, max(0.0, v)) * METER_WIDTH))
    return "#" * n + "-" * (METER_WIDTH - n)


@dataclass
class HudInfo:
    fps: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)  # e.g. {"capture": 0.3, "scene": 30.1}
    device: str = ""  # e.g. "cpu" / "cuda:0 (fp16)"
    size: str = ""  # internal size text, e.g. "256x144"
    scene: str = ""  # e.g. "dream"
    changed: list[tuple[str, str]] = field(default_factory=list)  # recently changed (name, value)
    labels: list[tuple[str, float]] = field(default_factory=list)  # top ImageNet labels (name, p 0..1)
    notice: str | None = None  # e.g. "No camera: showing the synthetic scene (retrying camera:0)"
    frozen: bool = False
    recording: bool = False  # a red REC on the HUD's first line
    tempo: str = ""  # e.g. "120.0 bpm audio", with " *" on the beat
    mods: list[tuple[str, str, float]] = field(default_factory=list)  # (target, source, value)


# HUD look
_PANEL_BG = (8, 10, 14, 185)  # near-black, semi-transparent
_NOTICE_BG = (215, 120, 0, 235)  # amber bar
_NOTICE_FG = (0, 0, 0)
_TOAST_BG = (20, 96, 150, 240)  # blue: something a key did
_TOAST_ERROR_BG = (190, 30, 30, 240)  # red: it could not be done
_TOAST_FG = (255, 255, 255)
TOAST_S = 2.5  # seconds a toast stays up
_WHITE = (240, 240, 240)
_DIM = (150, 156, 166)
_NAME = (255, 214, 110)  # changed parameter names
_PCT = (120, 210, 255)  # label percentages
_FROZEN = (255, 90, 90)
_HUD_REFRESH_S = 0.25  # numbers on the HUD change at most this often
_MAX_CHANGED = 4
_MAX_LABELS = 3
_MONO_FONTS = ("dejavusansmono", "liberationmono", "notomono", "ubuntumono", "freemono", "monospace")


def _load_font(px: int) -> pygame.font.Font:
    """A monospace system font of about `px` pixels line height, else pygame's bundled font.

    pygame's bundled font (freesansbold) needs no font package, so a bare system still gets a HUD.
    """
    path = None
    try:
        path = pygame.font.match_font(",".join(_MONO_FONTS))
    except Exception:  # noqa: BLE001 - fc-list missing or broken: use the bundled font
        path = None
    if path:
        try:
            return pygame.font.Font(path, px)
        except Exception:  # noqa: BLE001
            pass
    # pygame 2 scales the default font down (x0.6875): ask for more to get a similar height
    return pygame.font.Font(None, round(px * 1.45))


Segment = tuple[str, tuple[int, int, int]]

# SDL drivers that draw nowhere a person can see
INVISIBLE_DRIVERS = ("offscreen", "dummy")


def fell_back_to_invisible(driver: str) -> bool:
    """Whether `driver` (pygame.display.get_driver()) is one pygame fell back to, silently,
    because no display answered (no X server, DISPLAY unset or wrong): a window nobody can
    see. Not when the user chose it on purpose (SDL_VIDEODRIVER)."""
    return driver in INVISIBLE_DRIVERS and not os.environ.get("SDL_VIDEODRIVER")


def _say_if_invisible() -> None:
    """A window nobody can see would let the show run to no one: say so."""
    driver = pygame.display.get_driver()
    if fell_back_to_invisible(driver):
        log.error("No display answered (DISPLAY=%s), so the window is invisible (pygame's %s "
                  "driver); start an X/Wayland session or set DISPLAY, or use --headless with "
                  "an --output.", os.environ.get("DISPLAY", "unset"), driver)


class Window:
    """A resizable pygame window (or fullscreen on one display) that shows frames and a HUD."""

    def __init__(
        self,
        size: tuple[int, int] | None,
        fullscreen: bool = False,
        display: int = 0,
        title: str = "liveart",
        hud: bool = True,
        cursor: bool = True,
    ):
        pygame.display.init()
        pygame.font.init()
        _say_if_invisible()
        count = pygame.display.get_num_displays()
        if not 0 <= display < max(count, 1):
            clamped = min(max(display, 0), max(count - 1, 0))
            log.warning("Display %d does not exist (%d found); using display %d.", display, count, clamped)
            display = clamped
        self._display = display
        self._title = title
        self._fullscreen = bool(fullscreen)
        self._windowed_size = (int(size[0]), int(size[1])) if size is not None else None
        self._hud_visible = bool(hud)  # H toggles it
        self._cursor = bool(cursor)  # False: the mouse pointer is hidden, windowed too (installations)
        self._closed = False
        pygame.display.set_caption(title)

        self._scaled: np.ndarray | None = None  # reused resize buffer (dh, dw, 3)
        self._font: pygame.font.Font | None = None
        self._font_px = 0
        self._margin = 8
        self._text_cache: dict[tuple[str, tuple[int, int, int]], pygame.Surface] = {}
        self._panel: pygame.Surface | None = None
        self._panel_key: tuple | None = None
        self._panel_stable: tuple | None = None
        self._panel_time = 0.0
        self._bars: dict[tuple, pygame.Surface] = {}  # notice/toast bars by text, size, colour
        self._toast: tuple[str, bool, float] | None = None  # text, error, monotonic end

        if self._fullscreen or self._windowed_size is not None:
            self._open()

    # ----------------------------------------------------------------- public API

    @property
    def hud_visible(self) -> bool:
        return self._hud_visible

    @property
    def fullscreen(self) -> bool:
        return self._fullscreen

    def toast(self, text: str, error: bool = False, seconds: float = TOAST_S) -> None:
        """Show `text` on the notice bar for `seconds`, in place of the standing notice
        meanwhile (the latest event wins; the notice comes back after); `error`: in red."""
        self._toast = (text, bool(error), time.monotonic() + seconds)

    @property
    def toast_text(self) -> str | None:
        """The toast the next show() draws, or None once its time is up."""
        if self._toast is not None and time.monotonic() < self._toast[2]:
            return self._toast[0]
        return None

    def show(self, frame: np.ndarray, hud: HudInfo | None) -> None:
        """Draw `frame` (uint8 HxWx3 RGB) fitted to the window, the HUD and notice; flip once."""
        if self._closed:
            return
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"Window.show needs a uint8 HxWx3 RGB frame, got {frame.dtype} {frame.shape}.")
        if not frame.flags.c_contiguous:
            frame = np.ascontiguousarray(frame)
        h, w = frame.shape[:2]
        if pygame.display.get_surface() is None:
            if self._windowed_size is None:
                self._windowed_size = self._fit_to_desktop(w, h)
            self._open()
        screen = pygame.display.get_surface()
        sw, sh = screen.get_size()

        if (w, h) == (sw, sh):  # fast path: wrap the array (no copy) and blit it
            screen.blit(pygame.image.frombuffer(frame, (w, h), "RGB"), (0, 0))
        else:
            scale = min(sw / w, sh / h)
            dw, dh = max(1, min(sw, round(w * scale))), max(1, min(sh, round(h * scale)))
            x, y = (sw - dw) // 2, (sh - dh) // 2
            screen.blit(self._resized(frame, dw, dh), (x, y))
            # letterbox bars every frame: overlays may have been drawn there last frame
            if dw < sw:
                screen.fill((0, 0, 0), (0, 0, x, sh))
                screen.fill((0, 0, 0), (x + dw, 0, sw - x - dw, sh))
            if dh < sh:
                screen.fill((0, 0, 0), (0, 0, sw, y))
                screen.fill((0, 0, 0), (0, y + dh, sw, sh - y - dh))

        if hud is not None:
            self._ensure_font(sh)
            if self._hud_visible:
                screen.blit(self._hud_panel(hud), (self._margin, self._margin))
            toast = self.toast_text
            if toast is not None:
                bg = _TOAST_ERROR_BG if self._toast[1] else _TOAST_BG
                # a path's end (the file name) matters most: cut a long toast in the middle
                bar = self._bar(toast, sw, bg, _TOAST_FG, cut_middle=True)
            elif hud.notice:
                bar = self._bar(hud.notice, sw, _NOTICE_BG, _NOTICE_FG)
            if toast is not None or hud.notice:
                screen.blit(bar, (0, sh - bar.get_height()))
        pygame.display.flip()

    def poll(self) -> list[str]:
        """Handle pending events; return the actions for the caller, in order."""
        actions: list[str] = []
        if self._closed:
            return actions
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                actions.append("quit")
            elif event.type == pygame.KEYDOWN:
                key = getattr(event, "key", None)
                if key == pygame.K_f:
                    self.toggle_fullscreen()
                elif key == pygame.K_h:
                    self._hud_visible = not self._hud_visible
                elif key in _ACTIONS:
                    actions.append(_ACTIONS[key])
            elif event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
                surface = pygame.display.get_surface()
                if surface is not None and not self._fullscreen:
                    self._windowed_size = surface.get_size()
        return actions

    def toggle_fullscreen(self) -> None:
        self._fullscreen = not self._fullscreen
        if self._windowed_size is None:  # nothing shown yet: remember a sensible windowed size
            surface = pygame.display.get_surface()
            self._windowed_size = surface.get_size() if surface is not None else (1280, 720)
        self._open()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._text_cache.clear()
        self._bars.clear()
        self._panel = self._font = None
        self._scaled = None
        pygame.display.quit()

    def __enter__(self) -> "Window":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- internals

    def _open(self) -> None:
        if self._fullscreen:
            size = pygame.display.get_desktop_sizes()[self._display]
            pygame.display.set_mode(size, pygame.FULLSCREEN, display=self._display)
            pygame.mouse.set_visible(False)
        else:
            pygame.display.set_mode(self._windowed_size, pygame.RESIZABLE, display=self._display)
            pygame.mouse.set_visible(self._cursor)
        pygame.display.set_caption(self._title)

    def _fit_to_desktop(self, w: int, h: int) -> tuple[int, int]:
        """The first frame's size, shrunk (keeping aspect) if it would not fit on the display."""
        try:
            dw, dh = pygame.display.get_desktop_sizes()[self._display]
        except (IndexError, pygame.error):
            return w, h
        scale = min(1.0, 0.9 * dw / w, 0.9 * dh / h)
        return max(1, round(w * scale)), max(1, round(h * scale))

    def _resized(self, frame: np.ndarray, dw: int, dh: int) -> pygame.Surface:
        if cv2 is None:  # pragma: no cover
            return pygame.transform.scale(pygame.image.frombuffer(frame, frame.shape[1::-1], "RGB"), (dw, dh))
        if self._scaled is None or self._scaled.shape[:2] != (dh, dw):
            self._scaled = np.empty((dh, dw, 3), np.uint8)
        cv2.resize(frame, (dw, dh), dst=self._scaled, interpolation=cv2.INTER_LINEAR)
        return pygame.image.frombuffer(self._scaled, (dw, dh), "RGB")

    def _ensure_font(self, window_h: int) -> None:
        px = max(13, min(24, round(window_h / 42)))
        if self._font is None or px != self._font_px:
            self._font = _load_font(px)
            self._font_px = px
            self._text_cache.clear()
            self._panel_key = None
            self._bars.clear()
        self._margin = max(6, px // 2)

    def _text(self, text: str, color: tuple[int, int, int]) -> pygame.Surface:
        key = (text, color)
        surf = self._text_cache.get(key)
        if surf is None:
            if len(self._text_cache) > 512:  # numbers change all the time: don't grow forever
                self._text_cache.clear()
            surf = self._font.render(text, True, color)
            self._text_cache[key] = surf
        return surf

    def _hud_lines(self, hud: HudInfo) -> list[list[Segment]]:
        lines: list[list[Segment]] = []
        top: list[Segment] = [(f"{hud.fps:5.1f}", _WHITE), (" fps", _DIM)]
        if hud.frozen:
            top.append(("   FROZEN", _FROZEN))
        if hud.recording:
            top.append(("   REC", _FROZEN))
        lines.append(top)

        stages = list(hud.stages_ms.items())
        if stages:
            per_line = len(stages) if len(stages) <= 3 else (len(stages) + 1) // 2
            for start in range(0, len(stages), per_line):
                line: list[Segment] = []
                for i, (name, ms) in enumerate(stages[start : start + per_line]):
                    line.append((("  " if i else "") + f"{name} ", _DIM))
                    line.append((f"{ms:.1f}", _WHITE))
                lines.append(line)
            lines[-1].append((" ms", _DIM))

        where = "  ".join(part for part in (hud.device, hud.size, hud.scene) if part)
        if where:
            lines.append([(where, _DIM)])

        if hud.tempo:
            lines.append([(hud.tempo, _DIM)])
        if hud.mods:  # each modulator with a meter of its source
            lines.append([])
            for target, source, value in hud.mods[:_MAX_CHANGED]:
                lines.append([(f"{target} ", _NAME), (f"{source} ", _DIM),
                              (meter(value, bipolar=source == "lfo"), _WHITE)])

        if hud.changed:
            lines.append([])  # a small gap between groups
            for name, value in hud.changed[-_MAX_CHANGED:]:
                lines.append([(f"{name} ", _NAME), (str(value), _WHITE)])

        if hud.labels:
            lines.append([])
            for name, p in hud.labels[:_MAX_LABELS]:
                lines.append([(f"{100 * p:3.0f}% ", _PCT), (name, _WHITE)])
        return lines

    def _hud_panel(self, hud: HudInfo) -> pygame.Surface:
        lines = self._hud_lines(hud)
        key = tuple(tuple(line) for line in lines)
        if key == self._panel_key and self._panel is not None:
            return self._panel
        # the parts that are not numbers: when only numbers changed, refresh at most every 0.25 s
        stable = (
            hud.device, hud.size, hud.scene, hud.frozen, hud.recording, tuple(hud.stages_ms),
            tuple(map(tuple, hud.changed[-_MAX_CHANGED:])), tuple(n for n, _ in hud.labels[:_MAX_LABELS]),
            tuple(m[:2] for m in hud.mods),
        )
        now = time.monotonic()
        if self._panel is not None and stable == self._panel_stable and now - self._panel_time < _HUD_REFRESH_S:
            return self._panel

        pad = self._margin
        line_h = self._font.get_linesize()
        rendered = [[self._text(text, color) for text, color in line] for line in lines]
        gap = max(3, line_h // 3)  # height of an empty line: separates groups
        text_w = max(sum(s.get_width() for s in line) for line in rendered)
        width = -(-(text_w + 2 * pad) // 16) * 16  # round up so the panel doesn't jitter with the digits
        if self._panel is not None and self._panel_stable == stable and 0 <= self._panel.get_width() - width <= 32:
            width = self._panel.get_width()  # keep the width while only numbers change
        height = sum(line_h if line else gap for line in rendered) + 2 * pad
        panel = self._panel
        if panel is None or panel.get_size() != (width, height):
            panel = pygame.Surface((width, height), pygame.SRCALPHA)
        panel.fill(_PANEL_BG)
        y = pad
        for line in rendered:
            x = pad
            for surf in line:
                panel.blit(surf, (x, y))
                x += surf.get_width()
            y += line_h if line else gap
        self._panel, self._panel_key, self._panel_stable, self._panel_time = panel, key, stable, now
        return panel

    def _fit(self, text: str, room: int, cut_middle: bool = False) -> str:
        """`text` cut with "..." to fit `room` pixels: at its end, or (`cut_middle`) in the
        middle, keeping its first 16 characters ("Snapshot: /home/") and as much of its end
        (a path's file name) as fits."""
        if cut_middle and self._font.size(text)[0] > room:
            head, tail = text[: len(text) // 3], text[len(text) // 3:]
            while len(head) > 16 and self._font.size(head + "..." + tail)[0] > room:
                head = head[:-1]
            while tail and self._font.size(head + "..." + tail)[0] > room:
                tail = tail[1:]
            text = head + "..." + tail
        if self._font.size(text)[0] > room:
            while text and self._font.size(text + "...")[0] > room:
                text = text[:-1]
            text += "..."
        return text

    def _bar(self, text: str, width: int, bg: tuple, fg: tuple[int, int, int],
             cut_middle: bool = False) -> pygame.Surface:
        """A full-width bar with `text` centred on it (the notice bar, or a toast)."""
        key = (text, width, self._font_px, bg, fg, cut_middle)
        bar = self._bars.get(key)
        if bar is not None:
            return bar
        pad = self._margin
        room = width - 2 * pad
        label = self._font.render(self._fit(text, room, cut_middle), True, fg)
        bar = pygame.Surface((width, label.get_height() + pad), pygame.SRCALPHA)
        bar.fill(bg)
        bar.blit(label, ((width - label.get_width()) // 2 if label.get_width() < room else pad, pad // 2))
        if len(self._bars) > 8:  # a few texts alternate (notice, toasts): don't grow forever
            self._bars.clear()
        self._bars[key] = bar
        return bar
