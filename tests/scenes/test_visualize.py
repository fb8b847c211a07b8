"""visualize on a real photo: the picture grows toward the target until the network sees it."""
import pytest

from liveart.errors import UserError
from liveart.params import ParamStore
from liveart.scenes.visualize import VisualizeScene

SIZE = (224, 160)


@pytest.mark.parametrize("start", ["camera", "noise"])
def test_the_picture_grows_into_the_target_class(cpu, cat, to_x, start):
    scene = VisualizeScene(cpu)
    x = to_x(cat, SIZE)
    snap = ParamStore({"visualize.start": start, "visualize.target": "goldfish"}).snapshot()
    scene.process(x, snap)
    first = scene.last_score
    for tick in range(40):
        y = scene.process(x, snap)
        if scene.labels()[0][0] == "goldfish" and scene.labels()[0][1] > 0.5:
            break
    assert scene.labels()[0][0] == "goldfish", f"{scene.labels()} after {tick + 1} ticks"
    assert scene.last_score > first + 5, (first, scene.last_score)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    if start == "camera":  # the camera stays in it
        assert float((y - x).abs().mean()) < 0.2


def test_a_channel_target_grows_its_energy(cpu, cat, to_x):
    scene = VisualizeScene(cpu)
    snap = ParamStore({"visualize.target": "channel:7"}).snapshot()
    x = to_x(cat, SIZE)
    scene.process(x, snap)
    first = scene.last_score
    for _ in range(15):
        scene.process(x, snap)
    assert scene.last_score > 2 * first


def test_reset_starts_over_and_none_is_no_target(cpu, cat, to_x):
    scene = VisualizeScene(cpu)
    store = ParamStore({"visualize.start": "camera"})
    x = to_x(cat, SIZE)
    for _ in range(5):
        scene.process(x, store.snapshot())
    store.set("visualize.reset", True)
    y = scene.process(x, store.snapshot())
    assert float((y - x).abs().mean()) < 0.05  # one step from the camera again
    with pytest.raises(UserError, match="visualize.target takes an ImageNet class"):
        ParamStore({"visualize.target": "none"})
