import torch

from liveart.errors import UserError
from liveart.models import imagenet_class_index, imagenet_labels, load_backbone


def test_weights_load_and_the_cat_is_a_cat(cat, cpu, to_x):
    model = load_backbone("efficientnet_lite0", cpu)
    x = torch.nn.functional.interpolate(to_x(cat), size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        p = model(x).softmax(1)[0]
    top = int(p.argmax())
    assert imagenet_labels()[top] in ("tabby cat", "tiger cat", "Egyptian Mau")
    assert float(p[top]) > 0.5


def test_forward_stops_at_the_deepest_tap(cat, cpu, to_x):
    model = load_backbone("efficientnet_lite0", cpu)
    calls = []
    hooks = [b.register_forward_hook(lambda m, i, o, n=n: calls.append(n))
             for n, b in enumerate(model._blocks)]
    try:
        with torch.no_grad():
            out = model.forward_taps(to_x(cat, (128, 96)), {"blocks.3", "blocks.5"})
    finally:
        for h in hooks:
            h.remove()
    assert set(out) == {"blocks.3", "blocks.5"}
    assert calls == [0, 1, 2, 3, 4, 5]
    assert out["blocks.5"].shape[1] == 80


def test_class_lookup():
    assert imagenet_class_index("281") == 281
    assert imagenet_labels()[imagenet_class_index("Tabby Cat")] == "tabby cat"
    for bad in ("1000", "zzqx"):
        try:
            imagenet_class_index(bad)
        except UserError as e:
            assert bad in str(e)
        else:
            raise AssertionError(f"{bad} accepted")
