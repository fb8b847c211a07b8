"""dream.layer's choices follow dream.model: the store never holds a layer the network lacks,
whoever sets it (OSC, MIDI, keys, presets, --set), and batches are judged as a whole."""
import pytest

from liveart.errors import UserError
from liveart.params import REGISTRY, ParamStore, parse_assignment
from liveart.params.dream import DEFAULT_LAYERS, MODEL_LAYERS


def test_a_layer_the_current_network_lacks_is_refused_in_one_sentence():
    store = ParamStore()
    assert store.get("dream.model") == "efficientnet_lite0"
    v0 = store.version
    with pytest.raises(UserError) as e:
        store.set("dream.layer", "relu5_4")
    msg = str(e.value)
    assert msg.startswith("dream.layer can't be 'relu5_4' with dream.model efficientnet_lite0;")
    assert "blocks.0" in msg and "head" in msg and "relu" not in msg.split(";", 1)[1]
    assert msg.count(". ") == 0 and msg.endswith(".")
    assert store.get("dream.layer") == "blocks.10" and store.version == v0
    # the static list of every network's layers is unchanged (liveart params, the golden docs)
    assert "relu5_4" in REGISTRY["dream.layer"].choices


def test_choices_and_indexes_are_the_current_networks():
    store = ParamStore()
    assert store.choices("dream.layer") == MODEL_LAYERS["efficientnet_lite0"]
    assert store.set("dream.layer", 99) == "head"  # an index past the end: the last layer
    store.set("dream.model", "vgg16")
    assert store.choices("dream.layer") == MODEL_LAYERS["vgg16"]
    assert store.set("dream.layer", 0) == "relu1_1"
    assert store.choices("dream.octaves") == ()  # not an enum
    assert store.choices("dream.model") == REGISTRY["dream.model"].choices


def test_changing_the_model_moves_the_layer_to_one_it_has():
    store = ParamStore()
    v0 = store.version
    store.set("dream.model", "vgg16")
    assert store.get("dream.layer") == DEFAULT_LAYERS["vgg16"]
    _, changed = store.changed_since(v0)
    assert changed == {"dream.model": "vgg16", "dream.layer": "relu4_3",  # echoed like any
                       "xray.layer": "relu3_3"}  # change; xray's layer follows the same network
    store.set("dream.layer", "relu3_3")
    store.set("dream.model", "vgg19")  # vgg19 has relu3_3 too: kept
    assert store.get("dream.layer") == "relu3_3"
    store.set("dream.model", "efficientnet_lite0")
    assert store.get("dream.layer") == "blocks.10"


@pytest.mark.parametrize("values", [{"dream.model": "vgg16", "dream.layer": "relu3_3"},
                                    {"dream.layer": "relu3_3", "dream.model": "vgg16"}])
def test_a_batch_sets_the_pair_in_any_order(values):
    store = ParamStore()
    store.update(values)
    assert (store.get("dream.model"), store.get("dream.layer")) == ("vgg16", "relu3_3")
    built = ParamStore(values)  # --set and presets at start-up go through here
    assert (built.get("dream.model"), built.get("dream.layer")) == ("vgg16", "relu3_3")


def test_a_refused_batch_sets_nothing():
    store = ParamStore()
    before = store.targets()
    with pytest.raises(UserError, match="can't be 'relu3_3' with dream.model efficientnet_lite0"):
        store.update({"dream.octaves": 2, "dream.layer": "relu3_3"})
    assert store.targets() == before
    with pytest.raises(UserError, match="can't be 'relu3_3'"):
        ParamStore({"dream.layer": "relu3_3"})


def test_a_morph_to_another_network_switches_the_pair_together():
    store = ParamStore()
    store.morph({"dream.layer": "relu3_3", "dream.model": "vgg16"}, 1.0, now=100.0)
    early = store.snapshot(now=100.2)
    assert (early["dream.model"], early["dream.layer"]) == ("efficientnet_lite0", "blocks.10")
    late = store.snapshot(now=100.8)
    assert (late["dream.model"], late["dream.layer"]) == ("vgg16", "relu3_3")
    with pytest.raises(UserError):
        store.morph({"dream.model": "efficientnet_lite0", "dream.layer": "relu3_3"}, 1.0)


def test_a_morph_keeps_off_a_model_taken_by_hand():
    store = ParamStore()
    store.morph({"dream.layer": "relu3_3", "dream.model": "vgg16"}, 1.0, now=100.0)
    store.set("dream.model", "efficientnet_lite0")  # the performer wins: out of the morph
    late = store.snapshot(now=100.8)
    assert (late["dream.model"], late["dream.layer"]) == ("efficientnet_lite0", "blocks.10")


def test_the_layer_keys_step_through_the_current_networks_layers():
    from liveart.live import step_param  # the window's Up/Down

    store = ParamStore({"dream.layer": "head"})
    step_param(store, "dream.layer", 1)
    assert store.get("dream.layer") == "head"  # the last of Lite0's, not VGG's relu1_1
    store.set("dream.model", "vgg16")
    step_param(store, "dream.layer", -1)
    assert store.get("dream.layer") == "relu4_2"


def test_set_picks_a_layer_by_index_among_the_models_given_on_the_same_command_line():
    # `--set dream.layer=3 --set dream.model=vgg16`: index 3 of VGG16's layers, whichever
    # order the two come in (it was index 3 of all 38 layers: blocks.3)
    values = dict(parse_assignment(t) for t in ("dream.layer=3", "dream.model=vgg16"))
    store = ParamStore(values)
    assert store.get("dream.layer") == "relu2_1"
    assert ParamStore(dict([parse_assignment("dream.layer=3")])).get("dream.layer") == "blocks.3"


def test_set_refuses_a_layer_the_model_lacks_and_a_name_no_model_has():
    with pytest.raises(UserError, match="can't be 'relu5_4' with dream.model efficientnet_lite0"):
        ParamStore(dict([parse_assignment("dream.layer=relu5_4")]))
    with pytest.raises(UserError, match="must be one of"):
        parse_assignment("dream.layer=relu9_9")
