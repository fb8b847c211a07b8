"""xray on a real photo: the mosaic is the strongest channels' maps, the overlay lights the
camera where its channel fires, and the layer follows the dream's network."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from liveart.params import ParamStore
from liveart.scenes.xray import RECHOOSE, XrayScene, grid_for

SIZE = (256, 144)


def corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm() + 1e-12))


@pytest.fixture(scope="module")
def scene(cpu):
    return XrayScene(cpu)


def test_grids_fill_the_frame():
    assert grid_for(16, 144, 256) == (4, 4)
    assert grid_for(9, 144, 256) == (3, 3)
    assert grid_for(1, 144, 256) == (1, 1)
    rows, cols = grid_for(12, 144, 256)
    assert rows * cols >= 12 and rows * cols - 12 < min(rows, cols)


def test_the_mosaic_shows_the_strongest_channels_strongest_first(scene, cat, to_x):
    x = to_x(cat, SIZE)
    store = ParamStore({"xray.channels": 16})
    scene.reset()
    y = scene.process(x, store.snapshot())
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    act = scene.features(x, store.get("xray.layer"))[0]
    energy = act.pow(2).mean(dim=(1, 2))
    order = torch.argsort(energy, descending=True)[:16].tolist()
    assert scene.chosen == order
    th, tw = 144 // 4, 256 // 4
    for i in (0, 5, 15):  # each tile is its channel's map, at tile size
        r, c = divmod(i, 4)
        tile = y[0, :, r * th:(r + 1) * th, c * tw:(c + 1) * tw].mean(0)
        want = F.interpolate(act[order[i]][None, None].clamp_min(0), size=(th, tw),
                             mode="bilinear", align_corners=False)[0, 0]
        assert corr(tile, want) > 0.8, (i, corr(tile, want))
    assert corr(y[0, :, :th, :tw].mean(0), y[0, :, :th, tw:2 * tw].mean(0)) < 0.9  # not one map


def test_gain_brightens(scene, cat, to_x):
    x = to_x(cat, SIZE)
    means = []
    for gain in (0.5, 1.0, 3.0):
        scene.reset()
        means.append(float(scene.process(x, ParamStore({"xray.gain": gain}).snapshot()).mean()))
    assert means[0] < means[1] < means[2], means


def test_the_overlay_lights_the_camera_where_the_channel_fires(scene, cat, to_x):
    x = to_x(cat, SIZE)
    store = ParamStore({"xray.mode": "overlay"})
    y = scene.process(x, store.snapshot())
    act = scene.features(x, store.get("xray.layer"))[0]
    c = int(act.pow(2).mean(dim=(1, 2)).argmax())
    fired = F.interpolate(act[c][None, None].clamp_min(0), size=x.shape[-2:], mode="bilinear",
                          align_corners=False)[0, 0]
    change = (y - x).abs().sum(1)[0]
    assert corr(change, fired) > 0.6
    quiet = fired < fired.quantile(0.2)
    assert float(change[quiet].mean()) < 0.1 * float(change[~quiet].mean()) + 1e-3
    store.set("xray.channel", (c + 1) % act.shape[0])  # another channel: another picture
    assert not torch.allclose(scene.process(x, store.snapshot()), y)


def test_the_channels_stay_put_between_re_rankings(scene, cat, to_x):
    store = ParamStore({"xray.channels": 9})
    scene.reset()
    picks = []
    for t in range(RECHOOSE):
        x = to_x(np.roll(cat, 7 * t, axis=1), SIZE)  # the camera pans: rankings shift
        scene.process(x, store.snapshot())
        picks.append(list(scene.chosen))
    assert all(p == picks[0] for p in picks)


def test_the_layer_follows_the_dreams_network(cpu, cat, to_x):
    store = ParamStore({"dream.model": "vgg16"})
    assert store.get("xray.layer") == "relu3_3"
    scene = XrayScene(cpu)
    y = scene.process(to_x(cat, SIZE), store.snapshot())
    assert scene.model_name == "vgg16" and y.shape[-2:] == (144, 256)
    assert scene.last_energy.shape[0] == 256  # relu3_3 has 256 channels
