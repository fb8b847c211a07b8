"""adversary on a real photo: within a few ticks the network sees the target class while no
pixel moved more than epsilon."""
import pytest

from liveart.imagenet import imagenet_class_index
from liveart.params import ParamStore
from liveart.scenes.adversary import AdversaryScene

SIZE = (224, 160)


@pytest.fixture(scope="module")
def scene(cpu):
    return AdversaryScene(cpu)


def test_the_cat_becomes_a_goldfish_within_epsilon(scene, cat, to_x):
    x = to_x(cat, SIZE)
    store = ParamStore({"adversary.target": "goldfish", "adversary.epsilon": 4 / 255})
    scene.reset()
    snap = store.snapshot()
    scene.process(x, snap)
    assert scene.labels()[0][0] in ("tabby cat", "tiger cat", "Egyptian Mau")  # at first
    for tick in range(1, 16):
        y = scene.process(x, snap)
        if scene.labels()[0][0] == "goldfish":
            break
    assert scene.labels()[0][0] == "goldfish", f"still {scene.labels()} after {tick} ticks"
    change = (y - x).abs()
    assert float(change.max()) <= 4 / 255 + 1e-6
    assert float(change.mean()) < 4 / 255
    print(f"goldfish top-1 after {tick} ticks, mean change {float(change.mean()) * 255:.2f}/255")


def test_show_amplifies_what_the_audience_sees_not_what_the_network_judges(scene, cat, to_x):
    x = to_x(cat, SIZE)
    plain = ParamStore({"adversary.epsilon": 4 / 255})
    loud = ParamStore({"adversary.epsilon": 4 / 255, "adversary.show": 10.0})
    scene.reset()
    for _ in range(3):
        scene.process(x, plain.snapshot())
    quiet = (scene.process(x, plain.snapshot()) - x).abs().mean()
    shown = (scene.process(x, loud.snapshot()) - x).abs().mean()
    assert float(shown) > 5 * float(quiet)
    assert float(scene.delta.abs().max()) <= 4 / 255 + 1e-6  # the perturbation itself: bounded


def test_a_target_by_index_and_reset(scene, cat, to_x):
    x = to_x(cat, SIZE)
    store = ParamStore({"adversary.target": "1"})
    scene.process(x, store.snapshot())
    assert scene.target == imagenet_class_index("goldfish") == 1
    store.set("adversary.reset", True)
    scene.process(x, store.snapshot())
    assert float(scene.delta.abs().max()) <= store.get("adversary.epsilon") / 4 + 1e-6  # one step


def test_a_bad_target_is_one_sentence():
    from liveart.errors import UserError

    with pytest.raises(UserError, match="Unknown ImageNet class 'unicorn'"):
        ParamStore({"adversary.target": "unicorn"})
