"""The main thread of `liveart run`: show the newest output, read keys, feed the HUD."""
from __future__ import annotations

import logging
import os
import time

from . import params
from .engine import Engine
from .errors import UserError
from .outputs.window import HudInfo, Window, fell_back_to_invisible

import pygame  # noqa: E402  (after window: it silences pygame's banner)

log = logging.getLogger(__name__)

_STEP_KEYS = {"layer_up": ("dream.layer", 1), "layer_down": ("dream.layer", -1),
              "octaves_up": ("dream.octaves", 1), "octaves_down": ("dream.octaves", -1)}


def step_param(store: params.ParamStore, name: str, delta: int) -> None:
    """Move an enum to its next/previous choice (of those it has now: dream.layer's are the
    current model's) or an int by one, within its range."""
    p = params.get(name)
    current = store.get(name)
    if p.type == "enum":
        choices = store.choices(name)
        i = choices.index(current) + delta
        store.set(name, choices[min(max(i, 0), len(choices) - 1)])
    else:
        store.set(name, current + delta)


def hud_info(engine: Engine, scene_name: str, learn=None) -> HudInfo:
    store = engine.store
    changed = [(n, str(store.get(n))) for n in store.recently_changed()
               if params.REGISTRY[n].type != "trigger"]
    return HudInfo(fps=engine.stats.fps(), stages_ms=engine.stats.latest_ms(),
                   device=str(engine.device) + (" fp16" if engine.scene.half else ""), size=f"{engine.size[0]}x{engine.size[1]}",
                   scene=scene_name, changed=changed, labels=engine.scene.labels(),
                   notice=_notice(engine, learn), frozen=engine.frozen,
                   recording=getattr(engine, "recording", None) is not None,
                   tempo=_tempo_text(engine), mods=list(getattr(engine.last_snap, "mods", ())))


def _tempo_text(engine: Engine) -> str:
    """'120.0 bpm tap *' (the star on the beat), once the show has a tempo clock."""
    rhythm = getattr(engine.last_snap, "rhythm", None) or {}
    if "bpm" not in rhythm:
        return ""
    star = " *" if rhythm.get("beat", 0.0) > 0.5 else ""
    return f"{rhythm['bpm']:.1f} bpm {engine.store.get('tempo.source')}{star}"


def _notice(engine: Engine, learn) -> str | None:
    # a learn that is waiting is a state, shown until it ends; what it assigned is a toast
    if learn is not None and learn.armed:
        return f"MIDI learn: move a control for {learn.armed}"
    return engine.notice or engine.source.notice


def _home(path) -> str:
    """`path` with the home folder as ~, as a person reads it on screen."""
    text, home = str(path), os.path.expanduser("~")
    return "~" + text[len(home):] if home not in ("", "/") and text.startswith(home + os.sep) else text


def _say(window, text: str, error: bool = False, logged: bool = False) -> None:
    """What a key did, on the window's notice bar for a moment, and in the log (unless
    `logged` already). Stand-in windows, as in some tests, may have no toasts."""
    if not logged:
        log.log(logging.WARNING if error else logging.INFO, "%s", text)
    toast = getattr(window, "toast", None)
    if toast is not None:
        toast(text, error=error)


def _learn(window, midi, store) -> None:
    """L: MIDI learn for the last parameter changed (or dream.mix)."""
    if midi is None or (getattr(midi, "watch", None) is None
                        and getattr(midi, "player", None) is None):
        _say(window, "MIDI learn needs a MIDI input; this show runs with --midi none.", True)
        return
    name = store.last_changed() or "dream.mix"
    midi.learn.arm(name)
    port = getattr(getattr(midi, "watch", None), "port", True)
    _say(window, f"MIDI learn: move a control for {name}" +
         ("" if port is not None else " (no MIDI input is plugged in yet)"))


def run_window(engine: Engine, args, window_size, actions=None, midi=None) -> None:
    install = getattr(args, "install", False)  # installation: no HUD, no pointer, no notice bar
    window = Window(window_size, fullscreen=args.fullscreen, display=args.display,
                    hud=not install, cursor=not install)
    driver = pygame.display.get_driver()
    log.info("window open on the %s video driver", driver)
    if install and fell_back_to_invisible(driver):
        # at boot the service may start before the desktop: exit, and systemd's Restart=always
        # tries again every 3 s until the display is up, instead of a show nobody sees
        window.close()
        raise UserError(f"No display answered (DISPLAY={os.environ.get('DISPLAY', 'unset')}); "
                        "an installation needs a visible window, so it stops here.")
    seq = 0
    learned = None  # the last MIDI learn assignment toasted
    end = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while True:
            engine.presenter_beat = time.monotonic()  # the watchdog's sign that we are alive
            for action in window.poll():
                if action == "quit":
                    return
                if action == "freeze":
                    engine.frozen = not engine.frozen
                elif action == "reset":
                    engine.store.set("dream.reset", True)
                elif action == "tap":
                    engine.store.set("tempo.tap", True)
                elif action == "midi_learn":
                    _learn(window, midi, engine.store)
                elif action == "save_preset" and actions is not None:
                    try:  # a refused save (full disk, read-only folder) must not end the show
                        path = actions.preset_save(time.strftime("saved-%Y%m%d-%H%M%S"))
                        _say(window, f"Preset saved: {_home(path)}", logged=True)
                    except UserError as e:  # already one sentence that says so
                        _say(window, str(e), error=True)
                    except OSError as e:
                        _say(window, f"Preset not saved: {e}", error=True)
                elif action == "snapshot" and actions is not None:
                    try:  # written on the snapshot thread: the window never waits for the disk
                        from .snapshot import snapshots_dir

                        # take() gives the file's name; where it goes is the snapshots folder
                        _say(window, f"Snapshot: {_home(snapshots_dir() / actions.run('snapshot'))}")
                    except UserError as e:
                        _say(window, str(e), error=True)
                elif action == "record" and actions is not None:
                    try:  # C: start/stop; the file is finished in the background
                        actions.run("record/toggle")
                    except UserError as e:
                        _say(window, str(e), error=True)
                elif action in _STEP_KEYS:
                    name = _STEP_KEYS[action][0]
                    step_param(engine.store, *_STEP_KEYS[action])
                    toast = getattr(window, "toast", None)
                    if toast is not None:  # on screen only: the log would fill with key presses
                        toast(f"{name.split('.')[-1].capitalize()}: {engine.store.get(name)}")
            learn = getattr(midi, "learn", None)
            if learn is not None and learn.assigned is not learned:  # a control was assigned
                learned = learn.assigned
                _say(window, f"MIDI learn: {learn.message}", error="not saved" in learn.message)
            out, new_seq, _ = engine.out_slot.wait_newer(seq, timeout=1 / 60)
            if out is not None and new_seq != seq:
                seq = new_seq
                t0 = time.perf_counter()
                window.show(out.image, hud_info(engine, args.scene,
                                                midi.learn if midi is not None else None)
                            if window.hud_visible or not install else None)
                engine.stats.add("present", (time.perf_counter() - t0) * 1000.0)
            if args.frames is not None and engine.stats.frames >= args.frames:
                return
            if end is not None and time.monotonic() >= end:
                return
    finally:
        engine.presenter_beat = None
        window.close()
