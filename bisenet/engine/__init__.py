"""Running models: inference modes and evaluation (training arrives with its own issue)."""

from bisenet.engine.evaluator import evaluate
from bisenet.engine.inference import infer, msflip_inference, slide_inference, whole_inference

__all__ = ["evaluate", "infer", "msflip_inference", "slide_inference", "whole_inference"]
