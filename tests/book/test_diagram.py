"""The architecture diagrams (bisenet.book.diagram) against the models they draw.

For every diagram: each box is a submodule of the model with the class the diagram expects;
each shape written in a box is the output shape a real forward pass on the CPU gives (the
diagrams trace on the meta device); each arrow between two modules carries a tensor of the shape
the next module receives; the drawing is readable at page width (at most 9 inches, text of
8 points or more and inside its box, no two boxes overlapping, no box inside a frame it does not
belong to); the alt text is one sentence; and the alt text a chapter gives a diagram's figure is
the one the package writes for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import bisenet
from bisenet.book import diagram
from bisenet.book.diagram_shapes import format_shape, trace_shapes
from bisenet.errors import UsageError
from bisenet.models.base import SegmentationModel

SIZE = (1, 3, 64, 128)  # small: the real passes stay cheap on the CPU
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
V1 = {"bisenetv1", "spatial_path", "context_path", "arm", "ffm"}

# (test id, model, diagram name, keyword arguments)
CASES = [
    ("bisenetv1", "bisenetv1-r18", "bisenetv1", {}),
    ("spatial_path", "bisenetv1-r18", "spatial_path", {}),
    ("context_path", "bisenetv1-r18", "context_path", {}),
    ("arm16", "bisenetv1-r18", "arm", {}),
    ("arm32", "bisenetv1-r18", "arm", {"module": "backbone.context_path.arm32"}),
    ("ffm", "bisenetv1-r18", "ffm", {}),
    ("v1_aux_head", "bisenetv1-r18", "booster_head", {"module": "auxiliary_head.0"}),
    ("bisenetv2", "bisenetv2", "bisenetv2", {}),
    ("detail_branch", "bisenetv2", "detail_branch", {}),
    ("stem_block", "bisenetv2", "stem_block", {}),
    ("ge_stride1", "bisenetv2", "ge_layer", {}),
    ("ge_stride2", "bisenetv2", "ge_layer", {"module": "backbone.semantic.stage3.0"}),
    ("ge_after_stem", "bisenetv2", "ge_layer", {"module": "backbone.semantic.stage2.0"}),
    ("context_embedding", "bisenetv2", "context_embedding", {}),
    ("semantic_branch", "bisenetv2", "semantic_branch", {}),
    ("bga", "bisenetv2", "bga", {}),
    ("booster_head", "bisenetv2", "booster_head", {}),
    ("booster_head_0", "bisenetv2", "booster_head", {"module": "auxiliary_head.0"}),
]
# other forms of the networks, whose layers the diagrams read from the model
VARIANTS = [
    ("ffm_coincheung", ("bisenetv1-r18", {"ffm_attention": "coincheung"}), "ffm", {}),
    ("bisenetv1_r50", ("bisenetv1-r50", {}), "bisenetv1", {}),
    ("bisenetv2_coincheung", ("bisenetv2", {"head": "coincheung"}), "bisenetv2", {}),
    ("booster_coincheung", ("bisenetv2", {"head": "coincheung"}), "booster_head", {}),
    ("bga_coincheung", ("bisenetv2", {"bga_upsample": "nearest4x", "bga_pointwise_bias": False}), "bga", {}),
    ("ge_paper", ("bisenetv2", {"ge_dw_relu": False}), "ge_layer", {"module": "backbone.semantic.stage4.0"}),
]


def real_pass(model: nn.Module, size: tuple[int, ...]) -> tuple[dict, dict, tuple]:
    """Output and input shapes of every module in one real forward pass on the CPU (the
    model's layers in eval mode, its top-level flag in training so that the auxiliary heads
    run), and the eval-mode logits' shape. Written independently of ``trace_shapes``."""
    outputs, inputs, handles = {}, {}, []
    for name, module in model.named_modules():

        def hook(_m, args, out, name=name):
            outputs[name] = tuple(out.shape) if isinstance(out, torch.Tensor) else None
            inputs[name] = [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]

        handles.append(module.register_forward_hook(hook))
    model.eval()
    model.training = True
    x = torch.randn(size)
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    model.eval()
    with torch.no_grad():
        logits = tuple(model(x).shape)
    return outputs, inputs, logits


@pytest.fixture(scope="module")
def models():
    built = {}

    def get(name: str, options: dict | None = None) -> nn.Module:
        key = (name, tuple(sorted((options or {}).items())))
        if key not in built:
            torch.manual_seed(0)
            built[key] = bisenet.build_model(name, **(options or {}))
        return built[key]

    return get


def draw(models, model_spec, name: str, kwargs: dict):
    model = models(*model_spec) if isinstance(model_spec, tuple) else models(model_spec)
    return model, getattr(diagram, f"{name}_diagram")(model, SIZE, **kwargs)


def check_against_the_model(model: nn.Module, drawn) -> None:
    outputs, inputs, logits = real_pass(model, SIZE)
    for box in drawn.boxes:
        if box.module is not None:
            module = model.get_submodule(box.module)
            assert box.cls is not None and box.cls is not nn.Module, f"{box.name}: no class to check"
            assert isinstance(module, box.cls), f"{box.name}: model.{box.module} is a {type(module).__name__}"
            if box.shape is not None:
                assert box.shape == outputs[box.module], f"{box.name} ({box.module})"
        elif box.kind == "input":
            assert box.shape in (SIZE, logits), box.name
        else:
            assert box.kind == "op" and box.shape is None, box.name
        if box.shape is not None:
            assert box.lines[-1] == format_shape(box.shape), box.name
    boxes = {b.name: b for b in drawn.boxes}
    for arrow in drawn.arrows:
        src, dst = boxes[arrow.src], boxes[arrow.dst]
        if src.module is not None and dst.module is not None and src.kind != "op":
            # what dst receives is what src gives (nothing happens on the way)
            assert outputs[src.module] in inputs[dst.module], f"{arrow.src} -> {arrow.dst}"
    for group in drawn.groups:
        assert isinstance(model.get_submodule(group.module), group.cls), group.module
        for name in group.members:
            module = boxes[name].module
            assert module is None or module.startswith(group.module + "."), (group.module, name)


def inches(text, renderer, dpi: float) -> tuple[float, float, float, float]:
    e = text.get_window_extent(renderer)
    return e.x0 / dpi, e.y0 / dpi, e.x1 / dpi, e.y1 / dpi


def rect(box) -> tuple[float, float, float, float]:
    return box.x - box.width / 2, box.y - box.height / 2, box.x + box.width / 2, box.y + box.height / 2


def overlap(a, b, margin: float = 0.0) -> bool:
    return a[0] < b[2] - margin and b[0] < a[2] - margin and a[1] < b[3] - margin and b[1] < a[3] - margin


def inside(a, b, tol: float = 0.02) -> bool:
    return a[0] >= b[0] - tol and a[1] >= b[1] - tol and a[2] <= b[2] + tol and a[3] <= b[3] + tol


def check_readable(drawn) -> None:
    fig = drawn.figure
    width, height = fig.get_size_inches()
    assert 4 <= width <= 9.05, f"{width:.2f} inches wide"
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [(t.get_text(), t.get_position(), inches(t, renderer, fig.dpi)) for t in ax.texts]
    assert all(t.get_fontsize() >= 8 for t in ax.texts), "text under 8 points"
    assert all(t.get_fontsize() >= 8 for t in fig.legends[0].get_texts())
    for _, _, extent in texts:
        assert inside(extent, (0, 0, width, height)), "text outside the figure"
    boxes = drawn.boxes
    for box in boxes:
        r = rect(box)
        own = [(s, extent) for s, (x, y), extent in texts if abs(x - box.x) < 0.01 and r[1] <= y <= r[3]]
        if box.kind == "op":
            assert box.lines[0] in [s for s, _ in own], box.name
            continue
        assert [s for s, _ in own] == box.lines, box.name
        for line, extent in own:
            assert inside(extent, r), f"{line!r} sticks out of box {box.name}"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlap(rect(a), rect(b), margin=-0.05), f"{a.name} and {b.name} overlap (or touch)"
    for group in drawn.groups:
        for box in boxes:
            if box.name not in group.members:
                assert not overlap(rect(box), group.frame), f"{box.name} lies in the frame of {group.module}"
    labels = {a.label for a in drawn.arrows if a.label} | {g.label for g in drawn.groups}
    labels |= {b.lines[1] for b in boxes if b.kind == "op" and len(b.lines) > 1}  # captions under circles
    for s, _, extent in texts:
        if s in labels:
            for box in boxes:
                if box.kind != "op" or s not in box.lines:
                    assert not overlap(extent, rect(box)), f"label {s!r} over box {box.name}"


def check_alt(name: str, drawn) -> None:
    alt = getattr(diagram, f"{name}_alt")(drawn)
    assert alt.endswith(".") and ". " not in alt and "\n" not in alt, alt
    assert alt.isascii(), alt  # as the chapters' prose: 3x3, 1x3x512x1024
    assert 80 < len(alt) < 700


@pytest.mark.parametrize(("model_name", "name", "kwargs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_box_is_a_module_of_the_model_with_its_real_shape(models, model_name, name, kwargs):
    model, drawn = draw(models, model_name, name, kwargs)
    check_against_the_model(model, drawn)
    check_readable(drawn)
    check_alt(name, drawn)
    svg = drawn._repr_svg_()  # what a notebook displays
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


@pytest.mark.parametrize(("spec", "name", "kwargs"), [c[1:] for c in VARIANTS], ids=[c[0] for c in VARIANTS])
def test_the_diagrams_follow_the_options_of_the_model(models, spec, name, kwargs):
    model, drawn = draw(models, spec, name, kwargs)
    check_against_the_model(model, drawn)
    check_readable(drawn)


def test_the_figures_at_the_books_size_are_page_wide(models):
    """At the default 1x3x512x1024 (the chapters' size) every diagram fits a page's width."""
    for _, model_name, name, kwargs in CASES:
        check_readable(getattr(diagram, f"{name}_diagram")(models(model_name), **kwargs))


def test_a_diagram_reads_what_the_model_has(models):
    v2 = models("bisenetv2")
    stride2 = diagram.ge_layer_diagram(v2, SIZE, module="backbone.semantic.stage3.0")
    stride1 = diagram.ge_layer_diagram(v2, SIZE, module="backbone.semantic.stage3.1")
    assert stride2.box("shortcut").module == "backbone.semantic.stage3.0.shortcut.0"
    assert stride1.box("shortcut").module is None  # the identity: no layer
    assert [b.name for b in stride2.boxes if b.name.startswith("dw")] == ["dw0", "dw1"]
    assert stride1.box("dw0").lines[2:4] == ["3×3 dw conv ×6", "64→384"]
    large = models("bisenetv2-large")
    layers = [b for b in diagram.semantic_branch_diagram(large, SIZE).boxes if "." in b.name]
    assert len(layers) == sum(len(large.backbone.semantic.get_submodule(f"stage{i}")) for i in (2, 3, 4)) == 18
    lean = diagram.bisenetv2_diagram(models("bisenetv2", {"aux_heads": False}), SIZE)
    assert not [b for b in lean.boxes if b.name.startswith("aux")]
    with pytest.raises(UsageError, match="BilateralGuidedAggregation at model.backbone.bga"):
        diagram.bga_diagram(models("bisenetv2", {"aggregation": "sum"}), SIZE)


@pytest.mark.parametrize("name", ["bisenetv1-r18", "bisenetv2"])
def test_shapes_traced_on_the_meta_device_are_those_of_a_real_pass(models, name):
    model = models(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for size in (SIZE, (2, 3, 72, 136)):  # 72 x 136 is not a multiple of 32
        outputs, _, _ = real_pass(model, size)
        meta = trace_shapes(model, size)
        cpu = trace_shapes(model, size, device="cpu")
        tensors = {k: v for k, v in outputs.items() if v is not None}
        assert {k: meta[k] for k in tensors} == tensors == {k: cpu[k] for k in tensors}
    assert isinstance(model, SegmentationModel) and not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def diagram_cells(notebook: Path) -> list[tuple[str, str | None, str]]:
    """(diagram name, module argument, alt text of the figure) of each cell of a chapter that
    shows a diagram: ``drawn = NAME_diagram(MODEL[, module="..."])``, then ``drawn``."""
    found = []
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        calls = re.findall(r"(\w+)_diagram\(\w+(?:, module=\"([^\"]+)\")?\)", source)
        if cell["cell_type"] != "code" or not calls:
            continue
        assert len(calls) == 1, f"{notebook.name}: one diagram per cell (one figure, one alt text)"
        alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt")
        assert alt, f"{notebook.name}: the cell drawing {calls[0][0]}_diagram has no mystnb.image.alt"
        found.append((calls[0][0], calls[0][1] or None, alt))
    return found


# the diagrams each chapter shows (the "a picture of every block")
CHAPTERS = {
    "01_first_look": {"bisenetv1", "bisenetv2"},
    "04_bisenetv1": {"bisenetv1", "spatial_path", "context_path", "arm", "ffm"},
    "06_stem_block": {"stem_block"},
    "08_context_embedding_and_semantic_branch": {"context_embedding", "semantic_branch"},
    "10_booster_heads_and_bisenetv2": {"booster_head", "bisenetv2"},
    "05_detail_branch": {"detail_branch"},
    "07_gather_expansion": {"ge_layer"},
    "09_bilateral_guided_aggregation": {"bga"},
}


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_each_chapter_shows_its_diagrams_with_the_packages_alt_text(models, chapter):
    cells = diagram_cells(NOTEBOOKS / f"{chapter}.ipynb")
    assert {name for name, _, _ in cells} >= CHAPTERS[chapter]
    for name, module, alt in cells:
        model = models("bisenetv1-r18" if name in V1 else "bisenetv2")
        drawn = getattr(diagram, f"{name}_diagram")(model, **({"module": module} if module else {}))
        assert alt == getattr(diagram, f"{name}_alt")(drawn), f"{chapter}: the alt text of {name}_diagram"
