"""The inference backends ``bisenet bench`` and :func:`bisenet.analysis.speed.make_runner` know, in
a module of their own so that the command line can check ``--backend`` without importing torch."""

BACKENDS = (
    "eager",
    "compile",
    "onnxruntime",
    "onnxruntime-int8",
    "onnxruntime-cuda",
    "onnxruntime-tensorrt",
    "openvino",
    "openvino-bf16",
    "openvino-int8",
)
