"""The drawing half of :mod:`bisenet.book.diagram`: boxes on a grid
of columns and rows, arrows between them, one colour per kind of component.

Nothing here knows a particular network. A diagram function of ``diagram`` makes a
:class:`Canvas` over a model and the shapes :func:`trace_shapes` recorded, puts one box per
submodule it draws (the box looks the module up by its name, checks its class and reads its
output shape), adds operation circles for what the code does with plain functions (sums,
products, concatenation, resizing) and arrows for the data flow, then calls
:meth:`Canvas.draw`. The returned :class:`Diagram` keeps the figure and every box and arrow, so
a test can hold each one against the model.

Text is 8 points or more, boxes are sized to their text, and a figure is as wide as its
columns (the diagrams keep to about 9 inches, a printed page's width).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from torch import nn

from bisenet.book.diagram_shapes import Shape, ascii_shape, describe, format_shape, kind_of, trace_shapes
from bisenet.errors import UsageError

FONT_SIZE = 8  # points, the smallest text of every diagram
MONO = "DejaVu Sans Mono"  # module names and shapes
LINE = 0.155  # inches per line of 8-point text
PAD = 0.07  # inches between a box's text and its edge
OP_RADIUS = 0.16  # inches

# one colour per kind of component, the same in every diagram (legend text beside it)
KINDS: dict[str, tuple[str, str]] = {
    "input": ("#e6e6e6", "tensor in / out"),
    "conv": ("#c6dbef", "convolution (BN + ReLU unless noted)"),
    "resnet": ("#d4e6b5", "ResNet stage"),
    "semantic": ("#a1d99b", "stem / GE layer"),
    "context": ("#dadaeb", "global context (pooling, CE)"),
    "attention": ("#fdd0a2", "attention (sigmoid weights)"),
    "aggregation": ("#fcbba1", "fusion of the two branches"),
    "head": ("#f2e5a0", "segmentation head"),
    "pool": ("#e5f5f9", "pooling, dropout"),
    "op": ("#ffffff", "operation without weights"),
}


@dataclass
class Box:
    """One drawn element: a submodule of the model, a tensor entering or leaving, or an
    operation the code performs with a plain function.

    Args:
        name: the box's key within its diagram (required).
        label: the bold first line, e.g. ``"ARM"`` (required).
        kind: a key of ``KINDS`` (required).
        module: the drawn submodule's name in the model (``model.get_submodule(module)``), or
            None for the model's input and output and for operations. Default None.
        cls: the class (or tuple of classes) the diagram expects ``module`` to be. Default None.
        shape: the output shape written in the box: the traced output of ``module``, or the
            model's input or output shape. Default None (operations).
        lines: every line of text drawn in the box, first to last. Default empty.
        styles: each line's style: ``"label"`` (bold), ``"name"`` and ``"shape"`` (monospace),
            ``"text"``. Default empty.
        x, y, width, height: the box's centre and size in inches, once drawn.
    """

    name: str
    label: str
    kind: str
    module: str | None = None
    cls: type | tuple[type, ...] | None = None
    shape: Shape | None = None
    lines: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0


@dataclass
class Arrow:
    """Data flowing from box ``src`` to box ``dst`` (their names), with an optional label and a
    bend (``rad`` of matplotlib's ``arc3`` connection: 0 is straight), or an elbow: ``"hv"``
    leaves ``src`` horizontally and enters ``dst`` vertically, ``"vh"`` the other way round."""

    src: str
    dst: str
    label: str | None = None
    bend: float = 0.0
    elbow: str | None = None


@dataclass
class Group:
    """A frame around the boxes of one enclosing module (e.g. ``backbone.detail``), labelled at
    its top right (or, ``below=True``, its bottom right); the names written in its boxes are
    relative to it."""

    module: str
    cls: type | tuple[type, ...]
    label: str
    members: list[str]
    below: bool = False
    frame: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # left, bottom, right, top (inches)


@dataclass(repr=False)
class Diagram:
    """What a diagram function returns: the figure and the records of what it draws. A notebook
    cell ending in a diagram shows its figure (as SVG, sharp at any zoom)."""

    figure: Figure
    boxes: list[Box]
    arrows: list[Arrow]
    groups: list[Group]
    title: str

    def __repr__(self) -> str:
        return f"Diagram({self.title!r}, {len(self.boxes)} boxes, {len(self.arrows)} arrows)"

    def _repr_svg_(self) -> str:
        """IPython's display protocol: a matplotlib Figure made without pyplot (as here, so that
        drawing shows nothing by itself) displays only as text in a notebook; a Diagram as SVG."""
        buffer = io.StringIO()
        self.figure.savefig(buffer, format="svg")
        return buffer.getvalue()

    def box(self, name: str) -> Box:
        """The box called ``name``."""
        return next(b for b in self.boxes if b.name == name)

    def shape(self, name: str) -> str:
        """The shape of box ``name`` as the alt texts write it (``"1x128x64x128"``)."""
        return ascii_shape(self.box(name).shape)


class Canvas:
    """Boxes placed on a grid, for one diagram.

    Column ``i`` is ``col_widths[i]`` inches wide, row ``j`` ``row_heights[j]`` inches high;
    a box sits at the centre of its cell, or between cells for fractional positions.

    Args:
        model: the model the diagram draws (required).
        input_size: the input shape the shapes were traced at (required).
        title: drawn above the diagram (required).
        col_widths: inches per column (required).
        row_heights: inches per row (required).
        root: the module whose names the boxes write relative to (``""``: the model). Default ``""``.
    """

    def __init__(
        self,
        model: nn.Module,
        input_size: Shape,
        title: str,
        col_widths: list[float],
        row_heights: list[float],
        root: str = "",
    ) -> None:
        self.model = model
        self.input_size = tuple(input_size)
        self.shapes = trace_shapes(model, self.input_size)
        self.title = title
        self.col_widths, self.row_heights = col_widths, row_heights
        self.root = root
        self.boxes: list[Box] = []
        self.arrows: list[Arrow] = []
        self.groups: list[Group] = []
        self._cells: dict[str, tuple[float, float]] = {}

    def module(self, name: str, cls: type | tuple[type, ...]) -> nn.Module:
        """``model.get_submodule(name)``, checked to be a ``cls``: a diagram of a model built
        with other options (another aggregation, no booster heads) says what it expected."""
        try:
            module = self.model.get_submodule(name)
        except AttributeError:
            module = None
        if not isinstance(module, cls):
            found = "nothing" if module is None else type(module).__name__
            expected = " or ".join(c.__name__ for c in cls) if isinstance(cls, tuple) else cls.__name__
            raise UsageError(f"this diagram draws a {expected} at model.{name}, but the model has {found} there")
        return module

    def add(
        self,
        name: str,
        col: float,
        row: float,
        module: str,
        cls: type | tuple[type, ...],
        label: str,
        *,
        details: str | None = None,
        show_name: bool = True,
        kind: str | None = None,
        within: str | None = None,
    ) -> Box:
        """A box for the submodule ``module`` (checked to be a ``cls``) with its traced shape.

        Args:
            name: the box's key (required).
            col, row: its cell (required).
            module: the submodule's name in the model (required).
            cls: its expected class (required).
            label: the bold first line (required).
            details: the lines under the name (``"\\n"`` between them; ``""``: none). Default
                None: :func:`describe` of the module.
            show_name: write the module's name (relative to ``within``, else to the root).
                Default True.
            kind: a key of ``KINDS``. Default None: :func:`kind_of` the module.
            within: the enclosing group's module. Default None.
        """
        m = self.module(module, cls)
        shape = self.shapes.get(module)
        shape = shape if shape and isinstance(shape[0], int) else None  # a tuple of outputs: not written
        lines, styles = [label], ["label"]
        if show_name:
            prefix = within if within is not None else self.root
            lines.append(module.removeprefix(prefix + ".") if prefix else module)
            styles.append("name")
        text = describe(m) if details is None else details
        for line in text.splitlines():
            lines.append(line)
            styles.append("text")
        if shape is not None:
            lines.append(format_shape(shape))
            styles.append("shape")
        box = Box(name, label, kind or kind_of(m), module, cls, shape, lines, styles)
        return self._place(box, col, row)

    def tensor(self, name: str, col: float, row: float, label: str, *, output: bool = False) -> Box:
        """A box for the model's input (or, ``output=True``, its logits) with its shape."""
        shape = self.input_size
        if output:
            shape = self.shapes[""][0] if isinstance(self.shapes[""][0], tuple) else self.shapes[""]
        lines = [label, format_shape(tuple(shape))]
        box = Box(name, label, "input", None, None, tuple(shape), lines, ["label", "shape"])
        return self._place(box, col, row)

    def op(
        self,
        name: str,
        col: float,
        row: float,
        symbol: str,
        *,
        caption: str | None = None,
        module: str | None = None,
        cls: type | tuple[type, ...] | None = None,
    ) -> Box:
        """A circle for an operation: ``"+"``, ``"×"``, ``"C"`` (concatenation), ``"σ"``, ``"↑"``
        (resize); ``module``/``cls`` when a weightless module (a ReLU, a sigmoid) performs it.
        ``caption`` is written under the circle."""
        if module is not None:
            self.module(module, cls)
        lines, styles = [symbol] + ([caption] if caption else []), ["label"] + (["text"] if caption else [])
        return self._place(Box(name, symbol, "op", module, cls, None, lines, styles), col, row)

    def _place(self, box: Box, col: float, row: float) -> Box:
        if any(b.name == box.name for b in self.boxes):
            raise ValueError(f"two boxes called {box.name!r}")
        self.boxes.append(box)
        self._cells[box.name] = (col, row)
        return box

    def arrow(self, src: str, dst: str, label: str | None = None, bend: float = 0.0, elbow: str | None = None) -> None:
        """Data flowing from box ``src`` to box ``dst`` (see :class:`Arrow`)."""
        self.arrows.append(Arrow(src, dst, label, bend, elbow))

    def group(
        self, module: str, cls: type | tuple[type, ...], label: str, members: list[str], below: bool = False
    ) -> None:
        """A frame around ``members`` (box names) for their enclosing ``module``, its label at
        the top (``below``: the bottom)."""
        self.module(module, cls)
        self.groups.append(Group(module, cls, label, members, below))

    def _x(self, col: float) -> float:
        whole = int(col)
        left = sum(self.col_widths[:whole])
        return 0.15 + left + (col - whole + 0.5) * self.col_widths[min(whole, len(self.col_widths) - 1)]

    def _y(self, row: float, top: float) -> float:
        whole = int(row)
        above = sum(self.row_heights[:whole])
        return top - above - (row - whole + 0.5) * self.row_heights[min(whole, len(self.row_heights) - 1)]

    def draw(self) -> Diagram:
        """Draw every box, group and arrow into a new figure (no pyplot: nothing is shown until
        the figure is displayed) and return it with the records."""
        kinds = [k for k in KINDS if any(b.kind == k for b in self.boxes)]
        width = 0.3 + sum(self.col_widths)
        fig = Figure(figsize=(width, 1))
        FigureCanvasAgg(fig)
        legend_columns = self._legend_columns(fig, kinds, width)
        title = 0.45 + (0.2 if any(not g.below for g in self.groups) else 0)  # a group's label above
        height = title + sum(self.row_heights) + 0.22 * -(-len(kinds) // legend_columns) + 0.1
        fig.set_size_inches(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.axis("off")
        top = height - title
        renderer = fig.canvas.get_renderer()
        patches = {}
        box_width = 0.0
        texts = {}
        for box in self.boxes:
            box.x, box.y = self._x(self._cells[box.name][0]), self._y(self._cells[box.name][1], top)
            texts[box.name] = self._texts(ax, box)
            if box.kind != "op":
                widest = max(t.get_window_extent(renderer).width for t in texts[box.name]) / fig.dpi
                box_width = max(box_width, widest + 2 * PAD)
        box_height = max(len(b.lines) for b in self.boxes if b.kind != "op") * LINE + 2 * PAD
        for box in self.boxes:
            colour = KINDS[box.kind][0]
            if box.kind == "op":
                box.width = box.height = 2 * OP_RADIUS
                patch = Circle((box.x, box.y), OP_RADIUS, facecolor=colour, edgecolor="#333333", lw=0.9, zorder=2)
            else:
                box.width, box.height = box_width, box_height
                patch = FancyBboxPatch(
                    (box.x - box_width / 2, box.y - box_height / 2),
                    box_width,
                    box_height,
                    boxstyle="round,pad=0,rounding_size=0.05",
                    facecolor=colour,
                    edgecolor="#333333",
                    lw=0.9,
                    zorder=2,
                )
            ax.add_patch(patch)
            patches[box.name] = patch
        for group in self.groups:
            self._draw_group(ax, group)
        for arrow in self.arrows:
            self._draw_arrow(ax, arrow, patches)
        ax.text(width / 2, height - 0.22, self.title, ha="center", va="center", fontsize=10, fontweight="bold")
        handles = [Patch(facecolor=KINDS[k][0], edgecolor="#333333", label=KINDS[k][1]) for k in kinds]
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=legend_columns,
            fontsize=FONT_SIZE,
            frameon=False,
            handlelength=1.2,
            columnspacing=1.2,
            borderaxespad=0.1,
        )
        return Diagram(fig, self.boxes, self.arrows, self.groups, self.title)

    @staticmethod
    def _legend_columns(fig: Figure, kinds: list[str], width: float) -> int:
        """The most legend columns (at most 4) whose widest entries fit the figure's width."""
        renderer = fig.canvas.get_renderer()
        widths = []
        for k in kinds:
            text = fig.text(0, 0, KINDS[k][1], fontsize=FONT_SIZE)
            widths.append(text.get_window_extent(renderer).width / fig.dpi + 0.45)  # + handle, spacing
            text.remove()
        for columns in (4, 3, 2):
            if sum(sorted(widths)[-columns:]) < width - 0.2:
                return min(columns, len(kinds))
        return 1

    def _texts(self, ax: matplotlib.axes.Axes, box: Box) -> list[matplotlib.text.Text]:
        if box.kind == "op":
            texts = [ax.text(box.x, box.y, box.lines[0], ha="center", va="center", fontsize=10, zorder=3)]
            if len(box.lines) > 1:
                texts.append(
                    ax.text(
                        box.x,
                        box.y - OP_RADIUS - 0.04,
                        box.lines[1],
                        ha="center",
                        va="top",
                        fontsize=FONT_SIZE,
                        zorder=3,
                    )
                )
            return texts
        n = len(box.lines)
        texts = []
        for i, (line, style) in enumerate(zip(box.lines, box.styles, strict=True)):
            y = box.y + (n / 2 - i - 0.5) * LINE
            font = {"label": dict(fontweight="bold"), "name": dict(family=MONO), "shape": dict(family=MONO)}
            texts.append(
                ax.text(box.x, y, line, ha="center", va="center", fontsize=FONT_SIZE, zorder=3, **font.get(style, {}))
            )
        return texts

    def _draw_group(self, ax: matplotlib.axes.Axes, group: Group) -> None:
        members = [b for b in self.boxes if b.name in group.members]
        left = min(b.x - b.width / 2 for b in members) - 0.08
        right = max(b.x + b.width / 2 for b in members) + 0.08
        bottom = min(b.y - b.height / 2 for b in members) - 0.08 - (LINE if group.below else 0)
        top = max(b.y + b.height / 2 for b in members) + 0.08 + (0 if group.below else LINE)
        ax.add_patch(
            FancyBboxPatch(
                (left, bottom),
                right - left,
                top - bottom,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="#f7f7f7",
                edgecolor="#777777",
                lw=0.8,
                ls="--",
                zorder=0,
            )
        )
        group.frame = (left, bottom, right, top)
        y, va = (bottom + 0.02, "bottom") if group.below else (top - 0.02, "top")
        ax.text(
            right - 0.06, y, group.label, ha="right", va=va, fontsize=FONT_SIZE, family=MONO, color="#333333", zorder=1
        )

    def _draw_arrow(self, ax: matplotlib.axes.Axes, arrow: Arrow, patches: dict) -> None:
        a = next(b for b in self.boxes if b.name == arrow.src)
        b = next(b for b in self.boxes if b.name == arrow.dst)
        style = f"arc3,rad={arrow.bend}"
        if arrow.elbow is not None:
            style = "angle,angleA=0,angleB=90,rad=0" if arrow.elbow == "hv" else "angle,angleA=90,angleB=0,rad=0"
        ax.add_patch(
            FancyArrowPatch(
                (a.x, a.y),
                (b.x, b.y),
                patchA=patches[a.name],
                patchB=patches[b.name],
                arrowstyle="-|>",
                mutation_scale=9,
                lw=1.0,
                color="#333333",
                connectionstyle=style,
                shrinkA=1,
                shrinkB=1,
                zorder=1,
            )
        )
        if arrow.label:
            # at the middle of the arc: the chord's midpoint moved by rad x chord length, sideways
            mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
            dx, dy = b.x - a.x, b.y - a.y
            mx, my = mx + arrow.bend * dy / 2, my - arrow.bend * dx / 2
            ax.text(
                mx,
                my,
                arrow.label,
                ha="center",
                va="center",
                fontsize=FONT_SIZE,
                zorder=3,
                bbox=dict(facecolor="white", edgecolor="none", pad=1.0),
            )
