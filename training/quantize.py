"""Write the quantised and half-precision siblings of an fp32 ONNX model, with python3-onnx only.

    /usr/bin/python3 training/quantize.py onnx/vision_model.onnx [more.onnx ...]
        [--flavours quantized,int8,fp16] [--per-channel] [--reduce-range]

Flavours follow transformers.js file naming (src/utils/dtypes.js), so `dtype` picks them:

    quantized  q8     vision_model_quantized.onnx  uint8 weights, asymmetric (zero point per tensor)
    uint8      uint8  vision_model_uint8.onnx      the same graph as `quantized` (opt-in: it duplicates it)
    int8       int8   vision_model_int8.onnx       int8 weights, symmetric (zero point 0)
    fp16       fp16   vision_model_fp16.onnx       float16 weights, Cast back to float32 in the graph

The quantised flavours do what onnxruntime's `quantize_dynamic` does to MatMul/Gemm: every MatMul
or Gemm whose weight input is a constant initializer becomes

    DynamicQuantizeLinear(x) -> MatMulInteger(x_u8, w_q, x_zp, w_zp) -> Cast(float) -> Mul(x_scale * w_scale)

(plus the Gemm bias). Activations are always uint8 (ORT's only DynamicQuantizeLinear output);
onnxruntime's CPU kernels take u8 x u8 and u8 x s8. Conv (e.g. a ViT patch embedding), Gather
(embedding tables) and every other op stay fp32. `--per-channel` gives each weight column its own
scale and zero point. `--reduce-range` keeps weights in 7 bits: x86 CPUs without VNNI compute
u8 x s8 with VPMADDUBSW, whose int16 pair sums can saturate with full-range weights.

fp16 keeps graph inputs and outputs float32: only initializers change type, each followed by a Cast
node, so the file halves and onnxruntime folds the casts at load time. Scalars and values outside
the float16 range stay float32.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLAVOUR_SUFFIX = {"quantized": "_quantized", "uint8": "_uint8", "int8": "_int8", "fp16": "_fp16"}
DEFAULT_FLAVOURS = ("quantized", "int8", "fp16")
FP16_MAX = 65504.0


def quantize_weight(w, signed, per_channel, reduce_range):
    """Quantise a [K, N] float weight; returns (q, scale, zero_point) with scale/zp scalar or [N]."""
    axis = 0 if per_channel else None
    if signed:
        qmax = 63 if reduce_range else 127
        absmax = np.abs(w).max(axis=axis)
        scale = np.where(absmax > 0, absmax / qmax, 1.0).astype(np.float32)
        q = np.clip(np.round(w / scale), -qmax, qmax).astype(np.int8)
        zero_point = np.zeros_like(scale, dtype=np.int8)
    else:
        qmax = 127 if reduce_range else 255
        rmin = np.minimum(w.min(axis=axis), 0.0)
        rmax = np.maximum(w.max(axis=axis), 0.0)
        scale = np.where(rmax > rmin, (rmax - rmin) / qmax, 1.0).astype(np.float32)
        zero_point = np.clip(np.round(-rmin / scale), 0, qmax).astype(np.uint8)
        q = np.clip(np.round(w / scale) + zero_point, 0, qmax).astype(np.uint8)
    return q, scale, zero_point


def quantize_dynamic(model, signed=False, per_channel=False, reduce_range=False):
    """Return a copy of `model` with its constant-weight MatMul/Gemm nodes dynamically quantised."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    new_inits = []
    quantised_weights = {}  # weight name (+ transpose flag) -> names of q, scale, zero point
    activation_quant = {}  # activation name -> (x_q, x_scale, x_zp): Q, K and V projections share one
    nodes = []
    count = 0

    def weight_names(name, transpose):
        key = (name, transpose)
        if key not in quantised_weights:
            w = numpy_helper.to_array(inits[name]).astype(np.float32)
            if transpose:
                w = w.T
            q, scale, zp = quantize_weight(w, signed, per_channel, reduce_range)
            base = f"{name}{'_T' if transpose else ''}"
            names = (f"{base}_quantized", f"{base}_scale", f"{base}_zero_point")
            for arr, n in zip((q, scale, zp), names):
                new_inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), n))
            quantised_weights[key] = names
        return quantised_weights[key]

    def activation_names(x):
        if x not in activation_quant:
            names = (f"{x}_quantized", f"{x}_scale", f"{x}_zero_point")
            nodes.append(helper.make_node("DynamicQuantizeLinear", [x], list(names), name=f"{x}_QuantizeLinear"))
            activation_quant[x] = names
        return activation_quant[x]

    def times_constant(x, value, name):
        new_inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), name))
        nodes.append(helper.make_node("Mul", [x, name], [f"{name}_output"], name=f"{name}_Mul"))
        return f"{name}_output"

    def is_float_matrix(name):
        return name in inits and inits[name].data_type == TensorProto.FLOAT and len(inits[name].dims) == 2

    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "MatMul" and is_float_matrix(node.input[1]):
            transpose, bias, alpha, beta = False, None, 1.0, 1.0
        elif (
            node.op_type == "Gemm"
            and is_float_matrix(node.input[1])
            and not attrs.get("transA", 0)
        ):
            transpose = bool(attrs.get("transB", 0))
            bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
            alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        else:
            nodes.append(node)
            continue

        count += 1
        prefix = node.name or f"{node.op_type}_{count}"
        x_q, x_scale, x_zp = activation_names(node.input[0])
        w_q, w_scale, w_zp = weight_names(node.input[1], transpose)
        out = node.output[0]
        integer, as_float, scale = f"{prefix}_output_int32", f"{prefix}_output_float", f"{prefix}_scale"
        nodes.append(helper.make_node("MatMulInteger", [x_q, w_q, x_zp, w_zp], [integer], name=f"{prefix}_MatMulInteger"))
        nodes.append(helper.make_node("Cast", [integer], [as_float], to=TensorProto.FLOAT, name=f"{prefix}_Cast"))
        nodes.append(helper.make_node("Mul", [x_scale, w_scale], [scale], name=f"{prefix}_ScaleMul"))
        if alpha != 1.0:
            scale = times_constant(scale, alpha, f"{prefix}_alpha")
        if bias is None:
            nodes.append(helper.make_node("Mul", [as_float, scale], [out], name=f"{prefix}_OutputMul"))
        else:
            scaled = f"{prefix}_output_scaled"
            nodes.append(helper.make_node("Mul", [as_float, scale], [scaled], name=f"{prefix}_OutputMul"))
            if beta != 1.0:
                bias = times_constant(bias, beta, f"{prefix}_beta")
            nodes.append(helper.make_node("Add", [scaled, bias], [out], name=f"{prefix}_BiasAdd"))

    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    _drop_unused_initializers(graph)
    _ensure_opset(model, 11)  # DynamicQuantizeLinear
    onnx.checker.check_model(model)
    print(f"  quantised {count} MatMul/Gemm nodes ({'int8' if signed else 'uint8'} weights)", file=sys.stderr)
    return model


def convert_fp16(model):
    """Return a copy of `model` whose float32 initializers are stored as float16 and cast back."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        w = numpy_helper.to_array(init)
        if w.size < 2 or np.abs(w).max() > FP16_MAX:
            kept.append(init)
            continue
        stored = f"{init.name}_fp16"
        kept.append(numpy_helper.from_array(w.astype(np.float16), stored))
        casts.append(helper.make_node("Cast", [stored], [init.name], to=TensorProto.FLOAT, name=f"{init.name}_CastToFloat"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    print(f"  stored {len(casts)} initializers as float16", file=sys.stderr)
    return model


def _drop_unused_initializers(graph):
    used = {name for node in graph.node for name in node.input}
    used |= {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _ensure_opset(model, version):
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < version:
            opset.version = version


def make_flavour(model, flavour, per_channel=False, reduce_range=False):
    if flavour == "fp16":
        return convert_fp16(model)
    return quantize_dynamic(model, signed=flavour == "int8", per_channel=per_channel, reduce_range=reduce_range)


def sibling_path(path, flavour):
    stem, ext = os.path.splitext(path)
    return f"{stem}{FLAVOUR_SUFFIX[flavour]}{ext}"


def write_flavours(path, flavours=DEFAULT_FLAVOURS, per_channel=False, reduce_range=False):
    """Write each flavour of the fp32 model at `path` next to it; returns the written paths."""
    model = onnx.load(path)
    written = []
    for flavour in flavours:
        out = sibling_path(path, flavour)
        print(f"{path} -> {out}", file=sys.stderr)
        onnx.save(make_flavour(model, flavour, per_channel, reduce_range), out)
        written.append(out)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="fp32 .onnx files")
    parser.add_argument(
        "--flavours",
        default=",".join(DEFAULT_FLAVOURS),
        help=f"comma-separated subset of {','.join(FLAVOUR_SUFFIX)} (default: %(default)s)",
    )
    parser.add_argument("--per-channel", action="store_true", help="one weight scale per output column")
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (x86 without VNNI)")
    args = parser.parse_args(argv)
    flavours = [f for f in args.flavours.split(",") if f]
    unknown = [f for f in flavours if f not in FLAVOUR_SUFFIX]
    if unknown:
        parser.error(f"unknown flavour(s): {', '.join(unknown)}")
    for path in args.models:
        write_flavours(path, flavours, args.per_channel, args.reduce_range)


if __name__ == "__main__":
    main()
