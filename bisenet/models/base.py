"""What every segmentation model of the package promises its callers.

A model is a ``backbone`` that returns ``(main_feature, *auxiliary_features)``, a
``decode_head`` on the main feature and, optionally, one ``auxiliary_head`` per auxiliary
feature. The attribute names are mmsegmentation's ``EncoderDecoder``'s.

Contract (the same for BiSeNet V1 and V2):

* input: a normalised float tensor (N, 3, H, W) with H, W >= 32; anything else raises
  ``ValueError`` naming the rule and the shape received. The sizes of the feature maps line up
  for every such side: each stride-2 layer gives ``ceil(side / 2)``, so the stride-s features
  are ``ceil(side / s)``, and every resize goes to another feature's size. A model with a fixed
  upsampling factor (``fixed_upsampling``, see :func:`side_aligns`) accepts fewer sides;
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
"""The package's smallest input side. Not a condition of the shapes (they line up for smaller
sides too, see :func:`side_aligns`): below it the whole image is smaller than one cell of the
networks' 1/32 feature."""


def side_aligns(side: int, fixed_upsampling: tuple[int, int] | None) -> bool:
    """Whether the feature maps line up for an input side under a fixed upsampling factor.

    ``fixed_upsampling = (s, f)`` says that a feature at stride ``s * f`` is upsampled by exactly
    ``f`` to meet one at stride ``s``. With stride-2 layers that give ``ceil(side / 2)``, those
    features have ``ceil(side / (s * f))`` and ``ceil(side / s)`` pixels along the side, so they
    line up exactly when ``ceil(side / s)`` is a multiple of ``f``: when the side rounded up to a
    multiple of ``s`` is a multiple of ``s * f``, i.e. ``side % (s * f)`` is 0 or above
    ``s * (f - 1)``. CoinCheung's BGA (``bga_upsample="nearest4x"``) is ``(8, 4)``: sides with
    ``side % 32`` equal to 0 or 25-31 (25-32, 57-64, 89-96, ...), not only multiples of 32.
    ``None`` (no fixed factor: every resize goes to another feature's size): every side.

    Args:
        side: the input's height or width (required).
        fixed_upsampling: ``(s, f)`` as above, or None (required).
    """
    if fixed_upsampling is None:
        return True
    stride, factor = fixed_upsampling
    return -(-side // stride) % factor == 0


def aligned_rule(fixed_upsampling: tuple[int, int]) -> str:
    """The condition of :func:`side_aligns` in words, as the input check's error states it.

    Args:
        fixed_upsampling: ``(s, f)`` as in :func:`side_aligns` (required).
    """
    stride, factor = fixed_upsampling
    period = stride * factor
    return (
        f"each side rounded up to a multiple of {stride} must be a multiple of {period}, i.e. "
        f"side % {period} is 0 or {stride * (factor - 1) + 1}-{period - 1} (a fixed {factor}x "
        f"upsampling from 1/{period} to 1/{stride})"
    )


def check_input(
    x: torch.Tensor,
    in_channels: int,
    model_name: str,
    fixed_upsampling: tuple[int, int] | None = None,
    weights_dtype: torch.dtype | None = None,
) -> None:
    """Raise :class:`~bisenet.errors.UsageError` (a ``ValueError``) unless ``x`` is a float
    (N, in_channels, H, W) tensor, H, W >= 32, whose sides line up under ``fixed_upsampling``
    (:func:`side_aligns`).

    Args:
        x: the model's input (required).
        in_channels: the channel count the model expects (required).
        model_name: the name the error message gives the model (required).
        fixed_upsampling: ``(s, f)``: a feature at stride ``s * f`` is upsampled by exactly
            ``f`` to meet one at stride ``s`` (:func:`side_aligns`); None: no such factor, every
            side >= 32 is accepted. Default None.
        weights_dtype: the dtype of the model's weights; outside autocast the input must have
            it (a float64 image into a float32 model is refused here, not deep in a convolution).
            Default None: not checked.
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
        raise UsageError(f"{rule}; got dtype {x.dtype} (convert the image to float and normalise it first)")
    if weights_dtype is not None and x.dtype != weights_dtype and not torch.is_autocast_enabled(x.device.type):
        raise UsageError(
            f"{rule}; got dtype {x.dtype} for a model whose weights are {weights_dtype}: convert the input "
            f"(x.to({weights_dtype})) or the model (model.to(dtype))"
        )
    n, c, h, w = x.shape
    if c != in_channels:
        raise UsageError(f"{rule}; got {c} channels in shape {tuple(x.shape)}")
    if h < MIN_INPUT_SIZE or w < MIN_INPUT_SIZE:
        raise UsageError(f"{rule}; got H x W = {h} x {w} in shape {tuple(x.shape)}")
    if n < 1:
        raise UsageError(f"{rule}; got an empty batch, shape {tuple(x.shape)}")
    if not (side_aligns(h, fixed_upsampling) and side_aligns(w, fixed_upsampling)):
        fit_h, fit_w = (_next_aligned(side, fixed_upsampling) for side in (h, w))
        raise UsageError(
            f"{rule}, and for this configuration {aligned_rule(fixed_upsampling)}; got "
            f"H x W = {h} x {w}. Pad or resize the input (the nearest larger size that fits is "
            f"{fit_h} x {fit_w})."
        )


def _next_aligned(side: int, fixed_upsampling: tuple[int, int] | None) -> int:
    while not side_aligns(side, fixed_upsampling):
        side += 1
    return side


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
        # (s, f): a feature at stride s * f is upsampled by exactly f to meet one at stride s
        # (side_aligns); None: every resize goes to another feature's size
        self.fixed_upsampling: tuple[int, int] | None = None
        self._init_weights()

    @property
    def size_divisor(self) -> int:
        """Sides that are multiples of it always line up: ``s * f`` for a fixed upsampling
        ``(s, f)``, else 1. Other sides may line up too (:func:`side_aligns` decides)."""
        if self.fixed_upsampling is None:
            return 1
        stride, factor = self.fixed_upsampling
        return stride * factor

    def _init_weights(self) -> None:
        init_weights(self)
        self.decode_head.init_classifier()
        for head in self.auxiliary_head or []:
            head.init_classifier()

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Eval mode: the logits (N, num_classes, H, W); train mode: ``(logits, [aux_logits, ...])``.

        Args:
            x: a normalised float tensor (N, in_channels, H, W), H, W >= 32 (required).
        """
        weights = next(self.parameters(), None)
        dtype = None if weights is None else weights.dtype
        check_input(x, self.in_channels, type(self).__name__, self.fixed_upsampling, weights_dtype=dtype)
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
