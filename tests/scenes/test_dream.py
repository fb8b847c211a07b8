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


def _graph_layers(scene):
    return sorted(layer for (_, layer), graph in scene.graphs._ready.items() if graph is not None)


def test_the_live_dream_runs_its_gradient_graph_with_torchs_picture(cat, cpu, store, to_x,
                                                                    monkeypatch):
    """The graph's picture differs from autograd's only as much as autograd's own differs when
    its input moves by a rounding error (a ReLU6 input within rounding of 0 or 6 flips its
    mask either way, and the carried detail grows that a little, tick by tick)."""
    frames = [to_x(cat[dy:], (256, 144)) for dy in (0, 4, 8, 12, 16, 20)]
    graph, plain, nudged = (DreamScene(cpu, seed=3) for _ in range(3))
    graph.wait_for_graphs = True  # from the first tick, as render() does
    for scene in (plain, nudged):  # torch's autograd
        monkeypatch.setattr(scene, "_graph_for", lambda layer, guide: None)
    noise = torch.Generator().manual_seed(0)
    snap = store.snapshot()
    for frame in frames:  # all four octaves and then some
        a, b = graph.process(frame, snap), plain.process(frame, snap)
        c = nudged.process(frame + 1e-6 * torch.randn(frame.shape, generator=noise), snap)
        ours, rounding = float((a - b).abs().mean()), float((c - b).abs().mean())
        assert ours < 3 * rounding + 1e-5, (ours, rounding)
        assert ours < 4e-3  # one 8-bit level
    assert _graph_layers(graph) == ["blocks.10"] and _graph_layers(plain) == []
    assert abs(float(graph.last_energy) - float(plain.last_energy)) < 0.01 * float(plain.last_energy)
    assert graph.summary is not None and graph.summary.channel_energy.shape == (112,)


def test_a_dreamed_cat_shows_more_dog(cat, cpu, store, to_x):
    """Held out from the gradient's own tests: unguided, the dream grows what blocks.10 saw in
    ImageNet; the network then calls the cat a dog far more often (classes 151-268)."""
    x = to_x(cat, (256, 144))
    scene = DreamScene(cpu)

    def dog_and_cat(img):
        with torch.no_grad():
            small = torch.nn.functional.interpolate(img, size=(224, 224), mode="bilinear")
            p = scene.model.forward_taps(small, set(), logits=True)["logits"].softmax(1)[0]
        return float(p[151:269].sum()), float(p[281:286].sum())

    y = x
    for _ in range(4):  # the detail carries over (dream.persist), so the dream deepens
        y = scene.render(x, store.snapshot())
    assert _graph_layers(scene) == ["blocks.10"]
    (dog0, cat0), (dog1, cat1) = dog_and_cat(x), dog_and_cat(y)
    assert dog1 > 10 * dog0 and cat1 < 0.5 * cat0, (dog0, dog1, cat0, cat1)


def test_a_scene_with_its_own_objective_stays_on_autograd(cat, cpu, store, to_x):
    class Brighter(DreamScene):
        def objective(self, img, layer, guide):
            return img.mean()

    scene = Brighter(cpu)
    scene.wait_for_graphs = True
    x = to_x(cat, SMALL)
    y = scene.step(x, store.snapshot())
    assert _graph_layers(scene) == [] and float(y.mean()) > float(x.mean())


def test_the_live_summary_is_made_only_when_asked_for(cat, cpu, store, to_x, monkeypatch):
    """The music summary costs the tick nothing when nobody listens: it is made in the asker's
    thread, once per tick however often it is asked for, and its novelty still compares the
    last tick with the one before it (whose summary is made too if nobody asked for it)."""
    import liveart.scenes.dream as dream

    calls = []
    real = dream.summarize
    monkeypatch.setattr(dream, "summarize", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    scene, x, snap = DreamScene(cpu), to_x(cat, SMALL), store.snapshot()
    for _ in range(3):
        scene.process(x, snap)
    assert calls == []
    first = scene.summary
    assert first is not None and first.channel_energy.shape == (112,)
    assert len(calls) == 2 and calls[0] is None  # the tick before, then the last one from it
    assert 0 < first.novelty <= 1  # the octaves differ from tick to tick
    assert scene.summary is first and len(calls) == 2  # asked again: the same one
    scene.process(x, snap)
    second = scene.summary
    assert second is not first and len(calls) == 3 and calls[2] is first
    scene.render(x, snap)
    assert len(calls) == 4


def test_a_tick_never_waits_for_a_summary_being_made(cat, cpu, store, to_x, monkeypatch):
    import threading

    import liveart.scenes.dream as dream

    inside, release, waited_out = threading.Event(), threading.Event(), []
    real = dream.summarize

    def slow(*a, **k):  # the music voice's thread, caught in the middle of a summary
        inside.set()
        if not release.wait(5):  # the tick never came back while this summary was made
            waited_out.append(True)
        return real(*a, **k)

    monkeypatch.setattr(dream, "summarize", slow)
    scene, x, snap = DreamScene(cpu), to_x(cat, SMALL), store.snapshot()
    scene.process(x, snap)
    asker = threading.Thread(target=lambda: scene.summary)
    asker.start()
    assert inside.wait(10)
    scene.process(x, snap)  # blocked until the summary is made, if it waited for the asker
    release.set()
    asker.join(10)
    assert not waited_out and scene.summary is not None
