"""Running models: training (``train``), evaluation (``evaluate``) and the inference modes.

* ``trainer``: the training loop, as its steps; ``sampler``: which samples each iteration sees;
  ``optim``: SGD and the warm-up + poly schedule; ``run_log``: ``log.jsonl`` and ``run.json``;
  ``rng``: the random state of a checkpoint; ``distributed``: torchrun's process group;
* ``evaluator``: metrics over a dataset; ``inference``: whole, sliding-window, multi-scale + flip;
  ``cityscapes_eval``: the official Cityscapes script, made safe to call.
"""

from bisenet.engine.evaluator import evaluate
from bisenet.engine.inference import infer, msflip_inference, slide_inference, whole_inference
from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import train

__all__ = ["evaluate", "infer", "msflip_inference", "read_log", "slide_inference", "train", "whole_inference"]
