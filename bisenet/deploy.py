"""Inference-time optimisations: BatchNorm folding, dropping the booster heads, channels_last,
torch.compile; and ONNX export.

Folding: in eval mode a BatchNorm is an affine map per channel, y = a * x + b with
a = gamma / sqrt(var + eps) and b = beta - a * mean. After a convolution W * x + c it becomes
(a W) * x + (a c + b): one convolution with scaled weights and a bias, and the BatchNorm goes.
The one BatchNorm of BiSeNetV2 that follows no convolution (after the context embedding block's
global pooling) is folded into the 1 x 1 convolution that *follows* it instead:
W (a p + b) = (W diag(a)) p + W b.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from bisenet.atomic import atomic_path
from bisenet.errors import OutputError
from bisenet.layers import ConvBNAct
from bisenet.models.base import SegmentationModel
from bisenet.models.bisenetv2 import ContextEmbeddingBlock


@torch.no_grad()
def randomize_bn_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters, as training
    would; a freshly built model's BNs are identities in eval mode, which makes checks of
    folding, export or loading vacuous. In place; returns the model."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return model


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold ``bn`` (which follows ``conv``) into ``conv`` in place; ``bn`` must then be removed."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # a, (C_out,)
    shift = bn.bias - scale * bn.running_mean  # b
    conv.weight.mul_(scale.view(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    new_bias = scale * bias + shift
    if conv.bias is None:
        conv.bias = nn.Parameter(new_bias)
    else:
        conv.bias.copy_(new_bias)


@torch.no_grad()
def fold_bn_into_next_conv(bn: nn.BatchNorm2d, conv: nn.Conv2d) -> None:
    """Fold ``bn`` (which precedes the 1 x 1 ``conv``, no padding) into ``conv`` in place."""
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError("only a dense 1 x 1 convolution can absorb the BatchNorm before it")
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - scale * bn.running_mean
    w = conv.weight[:, :, 0, 0]  # (C_out, C_in)
    extra = w @ shift
    conv.weight.mul_(scale.view(1, -1, 1, 1))
    if conv.bias is None:
        conv.bias = nn.Parameter(extra)
    else:
        conv.bias.add_(extra)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm of a package model into a convolution, in place; returns the model.

    Handles the three places BatchNorms sit: ``ConvBNAct`` (conv, bn), torchvision-style ResNet
    blocks (``convK``/``bnK`` pairs, ``downsample`` = Sequential(conv, bn)), and the context
    embedding block's pooled BatchNorm (folded forward). Raises if any BatchNorm is left.
    """
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, ContextEmbeddingBlock) and isinstance(module.gap[1], nn.BatchNorm2d):
            # the BN comes first: fold the conv's own BN, then the pooled BN into the conv
            fold_conv_bn(module.conv_gap.conv, module.conv_gap.bn)
            module.conv_gap.bn = nn.Identity()
            fold_bn_into_next_conv(module.gap[1], module.conv_gap.conv)
            module.gap[1] = nn.Identity()
        if isinstance(module, ConvBNAct) and isinstance(module.bn, nn.BatchNorm2d):
            fold_conv_bn(module.conv, module.bn)
            module.bn = nn.Identity()
        for k in (1, 2, 3):
            conv, bn = getattr(module, f"conv{k}", None), getattr(module, f"bn{k}", None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                fold_conv_bn(conv, bn)
                setattr(module, f"bn{k}", nn.Identity())
        if (
            isinstance(module, nn.Sequential)
            and len(module) == 2
            and isinstance(module[0], nn.Conv2d)
            and isinstance(module[1], nn.BatchNorm2d)
        ):
            fold_conv_bn(module[0], module[1])
            module[1] = nn.Identity()
    left = [name for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if left:
        raise RuntimeError(f"BatchNorm layers left unfolded: {left[:5]}")
    return model


def optimize(
    model: SegmentationModel,
    fold_bn: bool = True,
    channels_last: bool = False,
    compile: bool = False,
    drop_aux: bool = True,
) -> nn.Module:
    """An inference copy of ``model`` (the original is untouched): eval mode, booster heads
    dropped, BatchNorms folded, optionally channels_last memory and ``torch.compile``. Its logits
    equal the original's eval-mode logits to float rounding (tested to 1e-4 relative)."""
    fast = copy.deepcopy(model).eval()
    if drop_aux:
        fast.auxiliary_head = None
    if fold_bn:
        fold_batchnorm(fast)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    for p in fast.parameters():
        p.requires_grad_(False)
    if compile:
        return torch.compile(fast)
    return fast


class ExportWrapper(nn.Module):
    """What an exported graph computes: logits (N, C, H, W) or, with ``argmax``, class ids
    (N, H, W) as int64."""

    def __init__(self, model: nn.Module, argmax: bool = False) -> None:
        super().__init__()
        self.model = model
        self.argmax = argmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return logits.argmax(dim=1) if self.argmax else logits


def export_onnx(
    model: SegmentationModel,
    path: str | Path,
    size: tuple[int, int] = (512, 1024),
    argmax: bool = False,
    dynamic: bool = False,
    opset: int = 17,
    fold_bn: bool = True,
    check: Callable[[Path], object] | None = None,
    classes: Sequence[str] | None = None,
    palette: Sequence[Sequence[int]] | None = None,
    batch: int = 1,
) -> Path:
    """Export ``model`` (optimised first: folded BN, no booster heads) to ONNX.

    ``dynamic``: height and width are free (batch too). ``argmax``: the graph ends in an ArgMax
    and outputs class ids. ``classes`` and ``palette`` (a checkpoint's class names and colours)
    are written into the model's metadata (``metadata_props`` "classes" and "palette", JSON lists;
    ONNX Runtime's ``session.get_modelmeta().custom_metadata_map``). ``check(file)``, when given,
    runs on the exported file before it takes ``path``'s place: if it raises, nothing is left at
    ``path``. ``batch``: the example input's (fixed) batch size without ``dynamic``. Returns the
    path written."""
    path = Path(path)
    wrapped = ExportWrapper(optimize(model, fold_bn=fold_bn), argmax).eval()
    x = torch.randn(batch, 3, *size, device=next(model.parameters()).device)  # a CUDA model exports too
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {
            "input": {0: "batch", 2: "height", 3: "width"},
            "output": {0: "batch", **({1: "height", 2: "width"} if argmax else {2: "height", 3: "width"})},
        }
    with torch.no_grad(), warnings.catch_warnings():
        # the input checks (H, W >= 32, ...) read shapes as Python values while tracing; with
        # dynamic axes the graph has no such checks, which is what the tracer warns about
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        with atomic_path(path, keep_suffix=True) as tmp:
            torch.onnx.export(
                wrapped,
                (x,),
                str(tmp),
                input_names=["input"],
                output_names=["output"],
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,
            )
            if classes is not None or palette is not None:
                _write_metadata(
                    tmp,
                    {
                        "classes": list(classes) if classes else None,
                        "palette": [list(c) for c in palette] if palette else None,
                    },
                )
            if check is not None:
                check(tmp)
    return path


def _write_metadata(path: Path, values: dict) -> None:
    """Add ``values`` (JSON-encoded, None left out) to an ONNX file's ``metadata_props``."""
    import json

    import onnx

    graph = onnx.load(str(path))
    for key, value in values.items():
        if value is not None:
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, json.dumps(value)
    onnx.save(graph, str(path))


def verify_onnx(
    model: SegmentationModel, path: str | Path, size: tuple[int, int], argmax: bool = False, dynamic: bool = False
) -> list[str]:
    """Run the exported graph with ONNX Runtime beside ``model`` on random inputs (at ``size``,
    and with ``dynamic`` at two larger sizes, one whose sides are not multiples of 32) and say how far they agree:
    one line per size (the share of equal class ids with ``argmax``, else the largest logit
    difference relative to the largest logit). Without onnxruntime, one line saying so. A graph
    that disagrees (logits off by more than 1e-3 relative, or class ids on fewer than 99 % of the
    pixels) raises :class:`~bisenet.errors.OutputError`; inside :func:`export_onnx`'s ``check``,
    that leaves no file behind."""
    import numpy as np

    try:
        import onnxruntime as ort
    except ImportError:
        return ["onnxruntime is not installed: not verified (pip install onnxruntime)"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    h, w = size
    lines = []
    device = next(model.parameters()).device
    # larger sizes than asked for; one whose sides are not multiples of 32, unless the model has a
    # fixed upsampling (then only some sides fit: bisenet.models.base.side_aligns)
    others = [(h + 32, w + 64)] + ([(h + 13, w + 7)] if getattr(model, "fixed_upsampling", None) is None else [])
    for size_ in [(h, w)] + (others if dynamic else []):
        x = torch.randn(1, 3, *size_)
        with torch.inference_mode():
            ref = model.eval()(x.to(device)).cpu()
        out = session.run(None, {"input": x.numpy()})[0]
        where = f"verified at {size_[0]}x{size_[1]}"
        if argmax:
            agree = float((out == ref.argmax(1).numpy()).mean())
            lines.append(f"{where}: onnxruntime and PyTorch agree on {100 * agree:.3f} % of pixels")
            wrong = agree < 0.99
        else:
            rel = float(np.abs(out - ref.numpy()).max() / ref.abs().max())
            lines.append(f"{where}: max relative difference of the logits {rel:.2e}")
            wrong = rel > 1e-3
        if wrong:
            raise OutputError(f"the exported graph {path} does not compute the model's output ({lines[-1]})")
    return lines
