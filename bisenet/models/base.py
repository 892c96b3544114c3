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

from bisenet.errors import UsageError
from bisenet.layers import init_weights, resize
from bisenet.models.heads import FCNHead

MIN_INPUT_SIZE = 32


def check_input(x: torch.Tensor, in_channels: int, model_name: str, size_divisor: int = 1) -> None:
    """Raise :class:`~bisenet.errors.UsageError` (a ``ValueError``) unless ``x`` is a float
    (N, in_channels, H, W) tensor, H, W >= 32 (and multiples of ``size_divisor``).

    Args:
        x: the model's input (required).
        in_channels: the channel count the model expects (required).
        model_name: the name the error message gives the model (required).
        size_divisor: H and W must be multiples of it. Default 1.
    """
    rule = (
        f"{model_name} expects a normalised float tensor of shape (N, {in_channels}, H, W) "
        f"with H, W >= {MIN_INPUT_SIZE}"
    )
    if not isinstance(x, torch.Tensor):
        raise UsageError(f"{rule}; got an object of type {type(x).__name__}")
    if x.dim() != 4:
        raise UsageError(f"{rule}; got a {x.dim()}-D tensor of shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise UsageError(
            f"{rule}; got dtype {x.dtype} (convert the image to float and normalise it first)"
        )
    n, c, h, w = x.shape
    if c != in_channels:
        raise UsageError(f"{rule}; got {c} channels in shape {tuple(x.shape)}")
    if h < MIN_INPUT_SIZE or w < MIN_INPUT_SIZE:
        raise UsageError(f"{rule}; got H x W = {h} x {w} in shape {tuple(x.shape)}")
    if n < 1:
        raise UsageError(f"{rule}; got an empty batch, shape {tuple(x.shape)}")
    if h % size_divisor or w % size_divisor:
        raise UsageError(
            f"{rule}, both multiples of {size_divisor} for this configuration (a fixed upsampling "
            f"factor); got H x W = {h} x {w}. Pad or resize the input."
        )


def check_config(config: object, config_class: type) -> None:
    """Raise ``TypeError`` unless ``config`` is a ``config_class`` instance (not, say, a dict of
    options: those go to ``config_class(**options)`` or to ``build_model``).

    Args:
        config: what the model was given (required).
        config_class: the model's config dataclass (required).
    """
    if not isinstance(config, config_class):
        raise TypeError(
            f"config must be a {config_class.__name__}, got {type(config).__name__}; "
            f"make one with {config_class.__name__}(**options)"
        )


class SegmentationModel(nn.Module):
    """Backbone + decode head (+ auxiliary heads), with the input/output contract above.

    Subclasses build the three parts, call this constructor (which initialises every weight as
    mmseg does) and keep the config they were built from as ``self.config``.

    Args:
        backbone: returns ``(main_feature, *auxiliary_features)`` (required).
        decode_head: the segmentation head on the main feature (required).
        auxiliary_head: one head per auxiliary feature, or None for no auxiliary heads
            (required).
        num_classes: the number of classes the heads predict (required, keyword-only).
        in_channels: the channels of the input image. Default 3.
    """

    def __init__(
        self,
        backbone: nn.Module,
        decode_head: FCNHead,
        auxiliary_head: nn.ModuleList | None,
        *,
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

    def _init_weights(self) -> None:
        init_weights(self)
        self.decode_head.init_classifier()
        for head in self.auxiliary_head or []:
            head.init_classifier()

    def forward(
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Eval mode: the logits (N, num_classes, H, W); train mode: ``(logits, [aux_logits, ...])``.

        Args:
            x: a normalised float tensor (N, in_channels, H, W), H, W >= 32 (required).
        """
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
