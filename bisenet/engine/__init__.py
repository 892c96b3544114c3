"""Running models: training (``train``), evaluation (``evaluate``) and the inference modes."""

from bisenet.engine.evaluator import evaluate
from bisenet.engine.inference import infer, msflip_inference, slide_inference, whole_inference
from bisenet.engine.trainer import read_log, train

__all__ = ["evaluate", "infer", "msflip_inference", "read_log", "slide_inference", "train", "whole_inference"]
