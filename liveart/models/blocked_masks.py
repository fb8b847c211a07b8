"""Keep the dream gradient's ReLU6 masks in ONNX Runtime's blocked (NCHWc) layout.

ONNX Runtime runs the gradient graph's convolutions in a blocked layout (channels in groups of
8 or 16, the CPU's vector width) and converts to and from plain NCHW around every operator its
NCHWc pass does not know. The masks of the ReLU6 adjoints (Greater, Less, And, Cast, Mul) are
such operators, so each mask costs two conversions out of the blocked layout and one back: 65
ReorderOutput and 33 ReorderInput nodes in the blocks.10 graph, 17% of its time
(docs/benchmarks.md). Yet those operators are element by element, indifferent to the layout,
as long as every tensor they combine is in the same layout (a scalar constant aside). No ONNX
Runtime option says so, so this rewrites the graph ONNX Runtime optimised: such operators read
the blocked tensors directly, and the conversions between them go away. The padding channels
the blocked layout adds (a multiple of the block) hold zeros from the convolutions' zero-
padded weights, so a mask there is 0 and nothing leaks into the real channels.

The rewritten graph holds ONNX Runtime's own NCHWc operators, so it is only valid on the
machine and version that produced it: liveart makes it at run time and checks its gradient
against the unrewritten session before using it (gradient_graph._gradient_session).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

NCHWC = "com.microsoft.nchwc"
# element-wise operators the masks and the gradient's sums are made of
ELEMENTWISE = frozenset({"Greater", "Less", "And", "Cast", "Mul", "Add"})


def _layout_free(node) -> bool:
    """An operator indifferent to the layout: element-wise, or a Concat along the batch axis
    (the stride-2 adjoints stack their four phases there, and the blocked layout keeps the
    batch axis first)."""
    if node.domain:
        return False
    return node.op_type in ELEMENTWISE or (node.op_type == "Concat" and _attr(node, "axis") == 0)


def _attr(node, name: str, default=0):
    for a in node.attribute:
        if a.name == name:
            return a.i
    return default


def keep_masks_blocked(graph) -> int:
    """Rewrite `graph` (an onnx GraphProto ONNX Runtime optimised) in place so that
    element-wise operators between blocked tensors run blocked; returns how many do."""
    scalars = {t.name for t in graph.initializer if int(np.prod(t.dims)) <= 1}
    blocked = {n.output[0] for n in graph.node
               if n.domain == NCHWC and n.op_type in ("Conv", "ReorderInput")}
    # a ReorderOutput to plain NCHW (not to channels last): its input, the blocked tensor
    unblocked_from = {n.output[0]: n.input[0] for n in graph.node
                      if n.domain == NCHWC and n.op_type == "ReorderOutput"
                      and not _attr(n, "channels_last") and n.input[0] in blocked}
    users = defaultdict(list)
    for n in graph.node:
        for name in n.input:
            users[name].append(n)
    outputs = {o.name for o in graph.output}

    def tensors(node):
        return [name for name in node.input if name and name not in scalars]

    def restores_blocked(node) -> bool:  # a ReorderInput from plain NCHW
        return node.domain == NCHWC and node.op_type == "ReorderInput" and not _attr(node, "channels_last")

    # candidates: until nothing changes, drop an operator with an input that is neither
    # blocked nor made blocked, or whose result something other than a candidate or a
    # ReorderInput uses (that one expects NCHW)
    chosen = {id(n): n for n in graph.node
              if _layout_free(n) and tensors(n)}
    changed = True
    while changed:
        changed = False
        made = {n.output[0] for n in chosen.values()}
        for key, n in list(chosen.items()):
            ok = (n.output[0] not in outputs
                  and all(t in blocked or t in made or t in unblocked_from for t in tensors(n))
                  and all(id(u) in chosen or restores_blocked(u) for u in users[n.output[0]]))
            if not ok:
                del chosen[key]
                changed = True
    if not chosen:
        return 0
    made = {n.output[0] for n in chosen.values()}
    for n in chosen.values():
        for i, name in enumerate(n.input):
            if name in unblocked_from:
                n.input[i] = unblocked_from[name]
    # a ReorderInput of a tensor that is now blocked: its users read that tensor
    same = {n.output[0]: n.input[0] for n in graph.node if restores_blocked(n) and n.input[0] in made}
    kept = [n for n in graph.node if n.output[0] not in same]
    for n in kept:
        for i, name in enumerate(n.input):
            if name in same:
                n.input[i] = same[name]
    used = {name for n in kept for name in n.input} | outputs
    kept = [n for n in kept if not (n.domain == NCHWC and n.op_type == "ReorderOutput"
                                    and n.output[0] not in used)]
    del graph.node[:]
    graph.node.extend(kept)
    return len(chosen)
