"""Resizing between the dream's octaves: torch's filters, with OpenCV growing on the CPU."""
import torch
import torch.nn.functional as F

from liveart.resample import resize


def frames():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 144, 256, 3, generator=g)
    yield image.permute(0, 3, 1, 2)  # channels_last, as the engine's frames are
    yield torch.rand(1, 3, 73, 131, generator=g)  # contiguous, as a gradient step's result is


def test_growing_is_torchs_bilinear_and_shrinking_is_torchs_antialiased_bilinear():
    for x in frames():
        h, w = x.shape[-2:]
        up, down = (h * 2 - 1, w * 2 + 3), (h // 2 + 1, w // 3)
        want_up = F.interpolate(x, size=up, mode="bilinear", align_corners=False)
        want_down = F.interpolate(x, size=down, mode="bilinear", align_corners=False, antialias=True)
        got_up, got_down = resize(x, up), resize(x, down)
        assert got_up.shape == want_up.shape and got_up.dtype == torch.float32
        assert float((got_up - want_up).abs().max()) < 5e-5  # float rounding; 8-bit: 4e-3
        assert torch.equal(got_down, want_down)


def test_the_same_size_is_the_same_tensor_and_one_channel_keeps_its_axis():
    x = torch.rand(1, 3, 20, 30)
    assert resize(x, (20, 30)) is x
    one = resize(torch.rand(1, 1, 20, 30), (40, 60))
    assert one.shape == (1, 1, 40, 60)
