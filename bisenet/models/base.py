"""What every segmentation model of the package promises its callers.

A model is a ``backbone`` that returns ``(main_feature, *auxiliary_features)``, a
``decode_head`` on the main feature and, optionally, one ``auxiliary_head`` per auxiliary
feature. The attribute names are mmsegmentation's ``EncoderDecoder``'s.

Contract (the same for BiSeNet V1 and V2):

* input: a normalised float tensor (N, 3, H, W) with H, W >= 32; anything else raises
  ``ValueError`` naming the rule and the shape received;
* eval mode: logits (N, num_classes, H, W), resized bilinearly (align_corners=False) from the
  head's resolution to the input's, as mmseg's whole-image inference does;
* train mode: ``(logits, [aux_logits, ...])``, every tensor at the input resolution; the list
  is empty when the model was built with ``aux_heads=False`` (it then has no auxiliary heads).
"""

from __future__ import annotations

import torch
from torch import nn

from bisenet.layers import init_weights, resize
from bisenet.models.heads import FCNHead

MIN_INPUT_SIZE = 32


def check_input(x: torch.Tensor, in_channels: int, model_name: str, size_divisor: int = 1) -> None:
    """Raise ``ValueError`` unless ``x`` is a float (N, in_channels, H, W) tensor, H, W >= 32
    (and multiples of ``size_divisor``)."""
    rule = (
        f"{model_name} expects a normalised float tensor of shape (N, {in_channels}, H, W) "
        f"with H, W >= {MIN_INPUT_SIZE}"
    )
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{rule}; got an object of type {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{rule}; got a {x.dim()}-D tensor of shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(
            f"{rule}; got dtype {x.dtype} (convert the image to float and normalise it first)"
        )
    n, c, h, w = x.shape
    if c != in_channels:
        raise ValueError(f"{rule}; got {c} channels in shape {tuple(x.shape)}")
    if h < MIN_INPUT_SIZE or w < MIN_INPUT_SIZE:
        raise ValueError(f"{rule}; got H x W = {h} x {w} in shape {tuple(x.shape)}")
    if n < 1:
        raise ValueError(f"{rule}; got an empty batch, shape {tuple(x.shape)}")
    if h % size_divisor or w % size_divisor:
        raise ValueError(
            f"{rule}, both multiples of {size_divisor} for this configuration (a fixed upsampling "
            f"factor); got H x W = {h} x {w}. Pad or resize the input."
        )


class SegmentationModel(nn.Module):
    """Backbone + decode head (+ auxiliary heads), with the input/output contract above."""

    def __init__(
        self,
        backbone: nn.Module,
        decode_head: FCNHead,
        auxiliary_head: nn.ModuleList | None,
        num_classes: int,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.backbone = backbone
        self.decode_head = decode_head
        self.auxiliary_head = auxiliary_head
        self.size_divisor = 1  # models with fixed up-sampling factors raise it
        self._init_weights()

    @property
    def has_aux_heads(self) -> bool:
        return self.auxiliary_head is not None

    def _init_weights(self) -> None:
        init_weights(self)
        self.decode_head.init_classifier()
        for head in self.auxiliary_head or []:
            head.init_classifier()

    def forward(
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        check_input(x, self.in_channels, type(self).__name__, self.size_divisor)
        size = x.shape[-2:]
        features = self.backbone(x)  # (main, *auxiliary features)
        logits = resize(self.decode_head(features[0]), size)  # (N, classes, H, W)
        if not self.training:
            return logits
        aux_logits = []
        if self.auxiliary_head is not None:
            aux_logits = [
                resize(head(feature), size)  # (N, classes, H, W)
                for head, feature in zip(self.auxiliary_head, features[1:], strict=True)
            ]
        return logits, aux_logits
