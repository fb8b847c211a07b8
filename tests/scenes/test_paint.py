"""The paint scene. Its mechanics are tested on a VGG16 with random weights (fast, needs no
download); what it paints is tested with the real weights where they are installed."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from liveart.errors import UserError
from liveart.models.vgg16 import VGG16Features, is_installed, load_vgg16
from liveart.scenes import paint as P  # declares the paint.* parameters before `store` exists

SMALL = (96, 64)


@pytest.fixture(scope="module")
def random_vgg():
    torch.manual_seed(0)
    return VGG16Features().eval().requires_grad_(False)


@pytest.fixture
def scene(cpu, random_vgg):
    return P.PaintScene(cpu, model=random_vgg)


@pytest.fixture
def styles(tmp_path):
    """Two style pictures on disk: the built-in swirl and a red/green checkerboard."""
    a = tmp_path / "swirl.png"
    cv2.imwrite(str(a), P.builtin_style(128)[..., ::-1])
    board = np.zeros((96, 96, 3), np.uint8)
    board[(np.indices((96, 96)) // 12).sum(0) % 2 == 0] = (0, 0, 255)  # BGR red
    board[(np.indices((96, 96)) // 12).sum(0) % 2 == 1] = (0, 200, 0)
    b = tmp_path / "board.png"
    cv2.imwrite(str(b), board)
    return str(a), str(b)


def run(scene, x, store, ticks):
    out = None
    for _ in range(ticks):
        out = scene.process(x, store.snapshot())
    return out


def test_losses_fall_over_ticks_and_the_painting_carries(scene, cat, store, to_x):
    x = to_x(cat, SMALL)
    store.update({"paint.anchor": 0.0, "paint.follow": False}, immediate=True)
    first = scene.process(x, store.snapshot())
    style0 = scene.last_losses["style"]
    assert scene.img is not None and scene.t == 1
    changes = [float((first - x).abs().mean())]
    for _ in range(5):
        changes.append(float((scene.process(x, store.snapshot()) - x).abs().mean()))
    assert scene.last_losses["style"] < 0.8 * style0
    assert scene.t == 6  # Adam's step count (and moments) carried across ticks
    # warm start: the painting moves further from the frame, tick after tick
    assert changes[-1] > 3 * changes[0] and changes[-1] == max(changes)


def test_reset_trigger_starts_again_from_the_frame(scene, cpu, random_vgg, cat, store, to_x):
    x = to_x(cat, SMALL)
    run(scene, x, store, 4)
    store.set("paint.reset", True)
    again = scene.process(x, store.snapshot())
    fresh = P.PaintScene(cpu, model=random_vgg).process(x, store.snapshot())
    assert scene.t == store.snapshot()["paint.steps"]
    assert torch.allclose(again, fresh, atol=1e-6)


def test_gram_targets_blend_linearly_and_are_computed_once(scene, store, styles, monkeypatch):
    hw = SMALL[::-1]
    store.set("paint.image", f"{styles[0]}; {styles[1]}", immediate=True)
    reads = []
    read = scene._read
    monkeypatch.setattr(scene, "_read", lambda path: reads.append(str(path)) or read(path))

    def targets(w0, w1):
        store.update({"paint.w0": w0, "paint.w1": w1}, immediate=True)
        return scene.style_targets(store.snapshot(), hw)

    a, b = targets(1, 0), targets(0, 1)
    assert set(a) == {"relu1_1", "relu2_1", "relu3_1", "relu4_1"}
    for w in (0.25, 0.5, 0.9):
        mixed = targets(w, 1 - w)
        for k in a:
            assert torch.allclose(mixed[k], w * a[k] + (1 - w) * b[k], rtol=1e-5, atol=1e-7), k
    # only the ratio counts (the weighted mean), and no weight at all means no style
    half = targets(0.5, 0.5)
    assert all(torch.allclose(half[k], targets(1, 1)[k]) for k in a)
    assert targets(0, 0) is None
    assert reads == list(styles)  # each picture read once, then cached
    assert not torch.allclose(a["relu1_1"], b["relu1_1"])


def test_style_pictures_are_checked(store, styles):
    with pytest.raises(UserError, match="at most 4"):
        store.set("paint.image", ";".join([styles[0]] * 5))
    with pytest.raises(UserError):
        store.set("paint.image", "/nonexistent/monet.jpg")
    store.set("paint.image", f"{styles[1]};{styles[0]}")
    assert P.split_images(" a.jpg ;; b ") == ["a.jpg", "b"]
    assert P.split_images("") == [] and P.split_images("builtin") == []


def test_a_picture_gone_at_run_time_is_skipped_not_fatal(scene, store, styles, cat, to_x, tmp_path,
                                                         monkeypatch):
    gone = tmp_path / "gone.png"
    cv2.imwrite(str(gone), np.full((32, 32, 3), 128, np.uint8))
    store.set("paint.image", f"{gone};{styles[1]}", immediate=True)
    gone.unlink()
    y = scene.process(to_x(cat, SMALL), store.snapshot())
    assert torch.isfinite(y).all()
    hw = SMALL[::-1]
    board = scene.style_grams(styles[1], hw, 1.0, P.style_layers(4))
    alone = scene.style_targets(store.snapshot(), hw)  # from the board alone
    assert all(torch.equal(alone[k], board[k]) for k in board)
    # put back (and edited: new targets), it is used again once the retry time has passed
    cv2.imwrite(str(gone), np.full((32, 32, 3), 200, np.uint8))
    monkeypatch.setattr(P.PaintScene, "RETRY_S", 0.0)
    both = scene.style_targets(store.snapshot(), hw)
    assert not torch.allclose(both["relu1_1"], board["relu1_1"])


def test_scale_mix_and_size_changes(scene, cat, store, to_x):
    x = to_x(cat, SMALL)
    store.update({"paint.scale": 0.5}, immediate=True)
    y = scene.process(x, store.snapshot())
    assert y.shape == x.shape and scene.img.shape[-2:] == (32, 48)
    store.update({"paint.scale": 1.0, "paint.mix": 0.0}, immediate=True)
    y = scene.process(x, store.snapshot())  # the working size changed: the painting restarts
    assert scene.img.shape == x.shape and torch.allclose(y, x)


def test_the_painting_follows_the_camera(scene, cat, store, to_x):
    big = to_x(cat, (112, 64))
    x0, x1 = big[..., :96].contiguous(), big[..., 8:104].contiguous()  # the camera pans right 8 px
    store.update({"paint.anchor": 0.0, "paint.lr": 0.2}, immediate=True)
    run(scene, x0, store, 3)
    painted = scene.img.clone()
    store.update({"paint.lr": 0.001}, immediate=True)  # (almost) no painting: just the carry
    scene.process(x1, store.snapshot())
    moved = (scene.img[..., 8:80] - painted[..., 16:88]).abs().mean()
    stayed = (scene.img[..., 8:80] - painted[..., 8:80]).abs().mean()
    assert moved < 0.5 * stayed
    # the strip the camera revealed on the right starts as the camera's picture
    assert (scene.img[..., -4:] - x1[..., -4:]).abs().mean() < 0.01


def test_nan_state_resets_within_the_tick(scene, cat, store, to_x):
    x = to_x(cat, SMALL)
    scene.process(x, store.snapshot())
    scene.img = torch.full_like(x, float("nan"))
    store.set("paint.anchor", 0.0, immediate=True)
    y = scene.process(x, store.snapshot())
    assert torch.isfinite(y).all() and scene.img is None


def test_builtin_style_is_a_colourful_deterministic_picture():
    a = P.builtin_style(96)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8
    assert np.array_equal(a, P.builtin_style.__wrapped__(96))  # same without the cache
    hsv = cv2.cvtColor(a, cv2.COLOR_RGB2HSV)
    assert hsv[..., 1].mean() > 100 and hsv[..., 0].std() > 20  # saturated, several hues


@pytest.mark.skipif(not is_installed(), reason="VGG16 weights not installed (liveart models install vgg16)")
def test_real_weights_paint_the_style_onto_the_cat(cpu, cat, store, to_x, styles):
    scene = P.PaintScene(cpu, model=load_vgg16(cpu))
    x = to_x(cat, SMALL)
    store.update({"paint.image": styles[0], "paint.lr": 0.05, "paint.follow": False}, immediate=True)
    scene.process(x, store.snapshot())
    style0 = scene.last_losses["style"]
    y = run(scene, x, store, 14)
    assert scene.last_losses["style"] < 0.5 * style0
    # the swirl's blues took over the cat's browns, and the cat is still there
    r, g, b = (float(c) for c in (y - x)[0].mean(dim=(1, 2)))
    assert b > 0.03 and r < -0.03
    gray = lambda t: (t[0] * torch.tensor([0.3, 0.59, 0.11]).view(3, 1, 1)).sum(0).flatten()
    assert float(torch.corrcoef(torch.stack([gray(x), gray(y)]))[0, 1]) > 0.5
