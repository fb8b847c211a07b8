"""The adversary scene's parameters (liveart/scenes/adversary.py reads them)."""
from __future__ import annotations

from ..imagenet import imagenet_class_index
from .registry import declare

MAX_EPSILON = 16.0 / 255.0

declare("adversary.target", "str", "goldfish", "The ImageNet class the network should see "
        "(a name or an index, e.g. 'goldfish', 1), while a person sees almost the camera.",
        check=lambda text: imagenet_class_index(text))
declare("adversary.epsilon", "float", 8.0 / 255.0, "How far any pixel may move (L-infinity, "
        "0..16/255 of full scale): the illusion's budget.", min=0.0, max=MAX_EPSILON)
declare("adversary.show", "float", 0.0, "Amplify the perturbation on screen so the audience "
        "can see it (0: the picture the network is fooled by; 10: ten times the change).",
        min=0.0, max=50.0, smoothing=0.1)
declare("adversary.reset", "trigger", None, "Start the perturbation over from nothing.")
