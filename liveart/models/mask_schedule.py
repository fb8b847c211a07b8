"""Make each ReLU6 mask of the dream's gradient wait for the gradient it multiplies.

ONNX Runtime orders the gradient graph's nodes itself, and it runs every mask (the Greater,
Less, And and Cast that make [0 < z < 6] from a layer's output z) as soon as it can: all of
them at once, right after the forward pass. Each then sits in memory as a float tensor, the
size of its layer's output, until the backward pass reaches its Mul, long after it has left
the CPU's caches. No session option orders single nodes, so this gives each mask's
comparisons a threshold computed from the gradient's shape (a constant of an empty shape:
exactly 0 or 6, whatever the sizes), which ONNX Runtime can only compute once that gradient
exists. The mask then runs just before its Mul, on data still warm: the whole gradient
1.02-1.03x faster at the finest octave, where the tensors outgrow the caches, and about the
same at the coarse ones (docs/benchmarks.md, "The masks just in time").

Applied to the graph ONNX Runtime optimised (after blocked_masks), which is loaded with its
optimisations off, so nothing folds the thresholds back into constants.
"""
from __future__ import annotations

import numpy as np

COMPARISONS = ("Greater", "Less")


def masks_wait_for_gradients(graph) -> int:
    """Rewrite `graph` (an onnx GraphProto) in place so that every mask Cast(And(Greater(z, a),
    Less(z, b))) multiplied into a gradient is computed only once that gradient is; returns
    how many masks wait now."""
    from onnx import helper, numpy_helper

    nodes = list(graph.node)  # one set of node objects for both passes (their ids)
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    made_by = {out: n for n in nodes for out in n.output}
    position = {id(n): i for i, n in enumerate(nodes)}
    users: dict[str, list] = {}
    for n in nodes:
        for name in n.input:
            users.setdefault(name, []).append(n)

    added: dict[int, list] = {}  # id(the mask's first comparison) -> nodes to put before it
    count = 0
    for cast in nodes:
        if cast.domain or cast.op_type != "Cast":
            continue
        both = made_by.get(cast.input[0])
        uses = users.get(cast.output[0], [])
        if both is None or both.op_type != "And" or len(uses) != 1 or uses[0].op_type != "Mul":
            continue
        comparisons = [made_by.get(name) for name in both.input]
        if not all(c is not None and c.op_type in COMPARISONS and not c.domain
                   and constants.get(c.input[1], np.empty(2)).size == 1 for c in comparisons):
            continue
        gradient = next(name for name in uses[0].input if name != cast.output[0])
        empty = f"{gradient}_mask_shape_{count}"
        new = [helper.make_node("Shape", [gradient], [empty], start=0, end=0)]
        for c in comparisons:
            value = constants[c.input[1]].astype(np.float32).reshape(1)
            threshold = f"{c.output[0]}_threshold"
            new.append(helper.make_node("ConstantOfShape", [empty], [threshold],
                                        value=numpy_helper.from_array(value)))
            c.input[1] = threshold
        added[id(min(comparisons, key=lambda c: position[id(c)]))] = new
        count += 1
    if not count:
        return 0
    ordered = []
    for n in nodes:  # keep the file in topological order: the new nodes before their users
        ordered.extend(added.get(id(n), []))
        ordered.append(n)
    del graph.node[:]
    graph.node.extend(ordered)
    return count
