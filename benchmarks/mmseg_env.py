"""Import mmsegmentation 1.2.2 on a machine where mmcv has no compiled ops (mmcv-lite).

mmseg imports a few names from ``mmcv.ops`` at import time; BiSeNet, FCNHead and ResNet use
none of them, so a stub module whose attributes are placeholders is enough. Used only by the
side-by-side scripts in this folder, run in a throwaway venv (never a project dependency):

    python -m venv /tmp/mmseg-venv
    /tmp/mmseg-venv/bin/pip install torch==2.13.0 "numpy<2.4" mmsegmentation==1.2.2 \
        mmengine==0.10.7 mmcv-lite==2.1.0 ftfy regex scipy prettytable
"""

from __future__ import annotations

import sys
import types


def import_mmseg():
    stub = types.ModuleType("mmcv.ops")

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})

    stub.__getattr__ = __getattr__
    sys.modules.setdefault("mmcv.ops", stub)
    import mmseg
    from mmseg.utils import register_all_modules

    register_all_modules()
    return mmseg


def build_mmseg_model(config_name: str):
    """Build the model of a model-zoo config (e.g. 'bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py')."""
    import logging
    import os

    from mmengine import Config
    from mmengine.logging import MMLogger

    MMLogger.get_instance("mmengine").setLevel(logging.ERROR)

    mmseg = import_mmseg()
    from mmseg.registry import MODELS

    path = os.path.join(os.path.dirname(mmseg.__file__), ".mim", "configs", config_name)
    cfg = Config.fromfile(path)
    cfg.model.pop("data_preprocessor", None)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model
