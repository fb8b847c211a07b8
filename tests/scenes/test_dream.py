import torch

from liveart.scenes.dream import DreamScene, octave_shapes, parse_guide
from liveart.models import imagenet_class_index
from liveart.params import Snapshot

SMALL = (192, 128)


def layer_energy(scene, x, layer):
    with torch.no_grad():
        return float(scene.model.forward_taps(x, {layer})[layer].pow(2).mean())


def test_a_dream_step_raises_the_layer_energy(cat, cpu, store, to_x):
    scene = DreamScene(cpu)
    x = to_x(cat, SMALL)
    for layer in ("blocks.4", "blocks.10"):
        store.update({"dream.layer": layer, "dream.jitter": 0}, immediate=True)
        snap = store.snapshot()
        y = x
        for _ in range(5):
            y = scene.step(y, snap)
        assert layer_energy(scene, y, layer) > 1.2 * layer_energy(scene, x, layer), layer


def test_dream_accumulates_over_ticks_and_persist_zero_does_not(cat, cpu, store, to_x):
    x = to_x(cat, SMALL)
    store.update({"dream.octaves": 1}, immediate=True)

    def change_per_tick(persist):
        store.set("dream.persist", persist, immediate=True)
        scene = DreamScene(cpu)
        out = []
        for _ in range(8):
            y = scene.process(x, store.snapshot())
            out.append(float((y - x).abs().mean()))
        return out

    grown = change_per_tick(0.95)
    assert grown[-1] > 2 * grown[0]
    flat = change_per_tick(0.0)
    assert max(flat) < 1.5 * min(flat)


def test_feedback_carries_the_output_and_zoom_moves_it(cat, cpu, store, to_x):
    x = to_x(cat, SMALL)
    store.update({"dream.octaves": 1, "dream.persist": 0.0, "dream.feedback": 1.0,
                  "dream.step_size": 0.0}, immediate=True)
    scene = DreamScene(cpu)
    first = scene.process(x, store.snapshot())
    store.set("dream.zoom", 0.05, immediate=True)
    zoomed = x
    for _ in range(5):
        zoomed = scene.process(x, store.snapshot())
    # with full feedback and no dream, the picture is the old output zooming in: not the frame
    assert float((first - x).abs().mean()) < 1e-6
    assert float((zoomed - x).abs().mean()) > 0.02


def test_reset_trigger_clears_state(cat, cpu, store, to_x):
    x = to_x(cat, SMALL)
    store.update({"dream.octaves": 1}, immediate=True)
    scene = DreamScene(cpu)
    for _ in range(4):
        scene.process(x, store.snapshot())
    assert scene.detail is not None and float(scene.detail.abs().mean()) > 0
    store.set("dream.reset", True)
    y = scene.process(x, store.snapshot())
    one_tick = DreamScene(cpu).process(x, store.snapshot())
    assert abs(float((y - x).abs().mean()) - float((one_tick - x).abs().mean())) < 0.01


def test_nan_state_resets_within_the_tick(cat, cpu, store, to_x):
    x = to_x(cat, SMALL)
    scene = DreamScene(cpu)
    scene.process(x, store.snapshot())
    scene.detail = torch.full_like(x, float("nan"))
    y = scene.process(x, store.snapshot())
    assert torch.isfinite(y).all()
    assert scene.detail is None or torch.isfinite(scene.detail).all()
    assert torch.isfinite(scene.process(x, store.snapshot())).all()


def test_class_guide_raises_that_class(cat, cpu, store, to_x):
    x = to_x(cat, (224, 160))
    target = imagenet_class_index("goldfish")
    store.update({"dream.guide": "goldfish", "dream.octaves": 2, "dream.steps": 6}, immediate=True)
    scene = DreamScene(cpu)

    def prob(img):
        with torch.no_grad():
            return float(scene.model(img).softmax(1)[0, target])

    y = scene.render(x, store.snapshot())
    assert prob(y) > 10 * prob(x)


def test_channel_guide_raises_that_channel(cat, cpu, store, to_x):
    x = to_x(cat, SMALL)
    store.update({"dream.layer": "blocks.6", "dream.guide": "channel:5", "dream.jitter": 0},
                 immediate=True)
    scene = DreamScene(cpu)
    snap = store.snapshot()

    def channel(img):
        with torch.no_grad():
            return float(scene.model.forward_taps(img, {"blocks.6"})["blocks.6"][:, 5].pow(2).mean())

    y = x
    for _ in range(4):
        y = scene.step(y, snap)
    assert channel(y) > 1.5 * channel(x)


def test_mix_zero_shows_the_live_frame(cat, cpu, store, to_x):
    x = to_x(cat, SMALL)
    store.set("dream.mix", 0.0, immediate=True)
    y = DreamScene(cpu).process(x, store.snapshot())
    assert float((y - x).abs().max()) < 1e-6


def test_labels_name_the_cat(cat, cpu, store, to_x):
    """Live, the frame is classified in a thread of its own (a whole forward pass to the
    logits every 8th tick would stall that tick); its labels arrive a tick or so later."""
    import threading

    scene = DreamScene(cpu)
    threads = []
    classify = scene._classify

    def watched(model, frame):
        threads.append(threading.current_thread())
        return classify(model, frame)

    scene._classify = watched
    x, snap = to_x(cat, (320, 224)), store.snapshot()
    scene.process(x, snap)
    assert threads and threads[0] is not threading.current_thread()
    scene._labelling[1].result(timeout=30)
    scene.process(x, snap)  # picks the finished classification up
    names = [n for n, _ in scene.labels()]
    assert len(names) == 3 and names[0] in ("tabby cat", "tiger cat", "Egyptian Mau")


def test_render_classifies_in_line(cat, cpu, store, to_x):
    """Offline, labels (which feed the music summary) are there at once, every run alike."""
    scene = DreamScene(cpu)
    scene.render(to_x(cat, (160, 112)), store.snapshot())
    assert scene._labelling is None and scene.labels()[0][0] in ("tabby cat", "tiger cat",
                                                                 "Egyptian Mau")


def test_octave_shapes_and_guide_parsing():
    assert octave_shapes(144, 256, 4, 1.4)[0] == (144, 256)
    assert len(octave_shapes(144, 256, 6, 2.0)) < 6  # stops before the network runs out of pixels
    assert parse_guide("none") is None
    assert parse_guide("ch:3") == ("channel", 3)
    assert parse_guide("281") == ("class", 281)


def _vgg16_installed():
    from liveart.models.vgg16 import is_installed

    return is_installed()


def test_dream_switches_to_vgg16_in_the_background(cat, cpu, store, to_x):
    import time

    import pytest

    if not _vgg16_installed():
        pytest.skip("VGG16 weights not installed (liveart models install vgg16)")
    x = to_x(cat, SMALL)
    scene = DreamScene(cpu)
    store.update({"dream.model": "vgg16", "dream.layer": "relu4_3", "dream.octaves": 1},
                 immediate=True)
    end = time.monotonic() + 30
    while scene.model_name != "vgg16" and time.monotonic() < end:
        y = scene.process(x, store.snapshot())  # keeps dreaming on Lite0 meanwhile
        assert torch.isfinite(y).all()
    assert scene.model_name == "vgg16"
    before = layer_energy(scene, x, "relu4_3")
    y = x
    snap = store.snapshot()
    for _ in range(4):
        y = scene.step(y, snap)
    assert layer_energy(scene, y, "relu4_3") > 1.2 * before
    assert scene._layer(snap) == "relu4_3"
    # not a VGG layer (the store refuses it; a snapshot taken while a model loads has one):
    # its default
    stale = Snapshot({**snap.values, "dream.layer": "blocks.10"})
    assert scene._layer(stale) == "relu4_3"
