"""`liveart run` end to end in a real window on Xvfb: the dream is on screen."""
import os
import subprocess
import sys
import time

import cv2
import numpy as np

from .conftest import grab


def test_run_shows_the_dream_in_an_x11_window(xserver, tmp_path):
    env = dict(os.environ, DISPLAY=xserver, SDL_VIDEO_WINDOW_POS="0,0")
    env.pop("SDL_VIDEODRIVER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveart", "run", "--source", "synthetic", "--size", "128x72",
         "--window", "640x360", "--seconds", "12"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(7)
        shot = grab()[:360, :640]
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "on the x11 video driver" in err
    cv2.imwrite(str(tmp_path / "run.png"), cv2.cvtColor(shot, cv2.COLOR_RGB2BGR))
    picture = shot[200:330, 20:620].astype(np.float32)  # below the HUD, above the notice bar
    assert picture.std() > 20, "the window shows a flat picture"
    hud = shot[10:60, 10:200].astype(np.float32)
    assert hud.mean() < picture.mean(), "the HUD panel (dark) is missing"
    assert "frames" in out and "fps" in out
