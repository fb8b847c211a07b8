"""style.image: any picture as the style, through the real arbitrary-style networks."""
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from liveart.scenes.style import StyleScene


@pytest.fixture
def styles(tmp_path, monkeypatch):
    folder = tmp_path / "styles"
    folder.mkdir()
    monkeypatch.setenv("LIVEART_STYLES_DIR", str(folder))
    cv2.imwrite(str(folder / "rocket.png"), cv2.cvtColor(skimage.data.rocket(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "coffee.png"), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    return folder


def blue_minus_red(t: torch.Tensor) -> float:
    return float(t[0, 2].mean() - t[0, 0].mean())


def test_a_picture_from_the_styles_folder_paints_the_frame(cat, cpu, store, to_x, styles):
    x = to_x(cat, (256, 144))
    store.update({"style.image": "rocket", "style.smooth": 0.0}, immediate=True)
    scene = StyleScene(cpu)
    y = scene.process(x, store.snapshot())
    assert y.shape == x.shape
    # the rocket's dusk sky is blue: the brown cat turns blue-ish
    assert blue_minus_red(y) > blue_minus_red(x) + 0.1
    store.set("style.image", "", immediate=True)  # back to the 26 faders
    assert float((scene.process(x, store.snapshot()) - y).abs().mean()) > 0.03


def test_two_pictures_blend_and_strength_moves_toward_the_content(cat, cpu, store, to_x, styles):
    x = to_x(cat, (256, 144))
    store.update({"style.image": "rocket;coffee", "style.smooth": 0.0}, immediate=True)
    scene = StyleScene(cpu)

    def styled(**values):
        store.update(values, immediate=True)
        return scene.process(x, store.snapshot())

    rocket = styled(**{"style.image_w0": 1.0, "style.image_w1": 0.0})
    coffee = styled(**{"style.image_w0": 0.0, "style.image_w1": 1.0})
    half = styled(**{"style.image_w0": 1.0, "style.image_w1": 1.0})
    lo, hi = sorted((blue_minus_red(rocket), blue_minus_red(coffee)))
    assert lo < blue_minus_red(half) < hi
    own = styled(**{"style.image_w0": 1.0, "style.image_w1": 0.0, "style.image_strength": 0.0})
    assert float((own - rocket).abs().mean()) > 0.02


def test_a_vanished_picture_falls_back_to_the_faders(cat, cpu, store, to_x, styles, caplog):
    x = to_x(cat, (128, 72))
    store.update({"style.image": "rocket", "style.smooth": 0.0}, immediate=True)
    scene = StyleScene(cpu)
    scene.process(x, store.snapshot())
    (styles / "rocket.png").unlink()
    with caplog.at_level("WARNING"):
        y = scene.process(x, store.snapshot())
    assert torch.isfinite(y).all() and "rocket" in caplog.text
