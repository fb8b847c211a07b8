"""--schedule: opening hours with fades, windows across midnight, and an engine that stops
computing (black, no forward pass) outside them. The clock is injected: nothing waits."""
import time
from datetime import datetime, timedelta

import pytest
import torch

from liveart.cli import main
from liveart.engine import Engine
from liveart.errors import UserError
from liveart.params import ParamStore
from liveart.scenes.base import Scene
from liveart.schedule import parse_schedule
from liveart.sources import open_source

CPU = torch.device("cpu")
DAY = datetime(2026, 11, 28)


def at(hh, mm, ss=0.0):
    return DAY + timedelta(hours=hh, minutes=mm, seconds=ss)


def test_inside_outside_and_fades_at_both_edges():
    s = parse_schedule("09:00-20:00", fade=5)
    assert s.level(at(12, 0)) == 1.0
    assert s.level(at(8, 59, 59)) == 0.0
    assert s.level(at(20, 0)) == 0.0 and s.level(at(23, 0)) == 0.0
    assert s.level(at(9, 0)) == 0.0  # the fade in starts at the opening time
    assert s.level(at(9, 0, 2.5)) == pytest.approx(0.5)
    assert s.level(at(9, 0, 5)) == 1.0
    assert s.level(at(19, 59, 59)) == pytest.approx(0.2)  # fading out before closing
    assert s.level(at(19, 59, 55)) == 1.0


def test_a_window_across_midnight():
    s = parse_schedule("20:00-02:00", fade=0)
    assert [s.level(at(h, 30)) for h in (19, 20, 23, 0, 1, 2, 3, 12)] == [0, 1, 1, 1, 1, 0, 0, 0]
    faded = parse_schedule("22:00-02:00", fade=10)
    assert faded.level(at(1, 59, 55)) == pytest.approx(0.5)
    assert faded.level(at(0, 0)) == 1.0


def test_several_windows_and_midnight_as_24_00():
    s = parse_schedule("09:00-12:00, 14:00-24:00", fade=0)
    assert [s.level(at(h, 0)) for h in (8, 9, 11, 12, 13, 14, 23)] == [0, 1, 1, 0, 0, 1, 1]
    assert s.level(at(23, 59, 59.9)) == 1.0 and s.level(at(0, 0)) == 0.0


@pytest.mark.parametrize("text", ["25:00-26:00", "9-5", "09:00", "09:00-20:00,", "12:60-13:00",
                                  "nine to five", "24:30-01:00", ""])
def test_bad_text_is_one_sentence_naming_the_form(text):
    with pytest.raises(UserError) as e:
        parse_schedule(text)
    msg = str(e.value)
    assert "HH:MM-HH:MM" in msg and msg.endswith(".") and "\n" not in msg


def test_an_empty_window_and_a_negative_fade_are_refused():
    with pytest.raises(UserError, match="opens and closes at the same time"):
        parse_schedule("09:00-09:00")
    with pytest.raises(UserError, match="--schedule-fade"):
        parse_schedule("09:00-10:00", fade=-1)


@pytest.mark.parametrize("argv,message", [
    (["run", "--headless", "--schedule", "25:00-26:00"], "--schedule has an impossible time"),
    (["run", "--headless", "--schedule", "9-17"], "--schedule takes HH:MM-HH:MM"),
    (["run", "--headless", "--schedule", "09:00-17:00", "--schedule-fade", "-2"],
     "--schedule-fade must be 0 or more"),
])
def test_cli_says_one_sentence_and_exits_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


# -- the engine outside the schedule -------------------------------------------------------
class Counting(Scene):
    """Counts its forward passes; returns a bright picture so dimming shows."""
    name = "counting"

    def __init__(self):
        super().__init__(CPU)
        self.calls = 0

    def process(self, frame, snap):
        self.calls += 1
        return torch.full_like(frame, 0.8)


class FakeClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def rig():
    source = open_source("synthetic", size=(96, 54), seed=1)
    source.start()
    try:
        scene = Counting()
        engine = Engine(source, scene, ParamStore(), CPU, (64, 36))
        end = time.monotonic() + 10
        while source.latest() is None and time.monotonic() < end:
            time.sleep(0.01)
        yield engine, scene
    finally:
        source.stop()


def test_outside_the_schedule_no_forward_pass_and_black(rig):
    engine, scene = rig
    clock = FakeClock(at(21, 0))
    engine.dimmer = parse_schedule("09:00-20:00", fade=5).dimmer(clock)
    outs = [engine.tick() for _ in range(5)]
    assert scene.calls == 0  # no compute at all
    assert all(o is not None and o.image.shape == (54, 96, 3) and not o.image.any() for o in outs)
    assert engine.dark and engine.stats.frames == 5
    assert outs[0].image is outs[-1].image  # one preallocated black buffer, not one per tick

    clock.now = at(12, 0)  # open: the scene runs again, full brightness
    out = engine.tick()
    assert scene.calls == 1 and not engine.dark
    assert out.image.mean() > 150


def test_the_fade_scales_the_picture(rig):
    engine, scene = rig
    clock = FakeClock(at(12, 0))
    engine.dimmer = parse_schedule("09:00-20:00", fade=10).dimmer(clock)
    full = engine.tick().image.astype(float).mean()
    clock.now = at(19, 59, 57.5)  # 2.5 s before closing with a 10 s fade: 25 %
    quarter = engine.tick().image.astype(float).mean()
    assert scene.calls == 2
    assert quarter == pytest.approx(full * 0.25, rel=0.05)


def test_the_render_thread_idles_while_dark(rig):
    """Outside the schedule the loop makes black frames at about 10 fps, not flat out."""
    engine, scene = rig
    engine.dimmer = lambda: 0.0
    engine.start()
    try:
        time.sleep(1.0)
    finally:
        engine.stop()
    assert scene.calls == 0
    assert 3 <= engine.stats.frames <= 20


def test_a_long_dark_pauses_the_source_and_light_resumes_it(rig, monkeypatch):
    """Closed hours: after a few seconds of black the source is paused (a camera lets go of
    its device); the first tick with light resumes it, as the fade-in starts."""
    import liveart.engine as engine_mod

    monkeypatch.setattr(engine_mod, "PAUSE_SOURCE_AFTER_S", 0.2)
    engine, scene = rig
    level = [0.0]
    engine.dimmer = lambda: level[0]
    engine.tick()
    assert not engine.source.paused  # a short dark (a fade's bottom) keeps the source going
    time.sleep(0.25)
    engine.tick()
    assert engine.source.paused and scene.calls == 0
    out = engine.tick()  # still black while paused, from the frame the source kept
    assert out is not None and not out.image.any()
    level[0] = 0.1  # the schedule opens: fading in
    engine.tick()
    assert not engine.source.paused and scene.calls == 1
