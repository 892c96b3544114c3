"""MiniCity: a procedural synthetic street scene dataset in Cityscapes' exact layout.

Cityscapes needs an account and 11 GB, so every chapter, test and command of this project can
also run on MiniCity, a small city drawn by this module and written exactly like Cityscapes::

    <out>/leftImg8bit/{train,val}/<city>/<city>_<seq>_000019_leftImg8bit.png          RGB
    <out>/gtFine/{train,val}/<city>/<city>_<seq>_000019_gtFine_labelIds.png           label ids
    <out>/gtFine/{train,val}/<city>/<city>_<seq>_000019_gtFine_labelTrainIds.png      train ids

with Cityscapes' own label ids (from cityscapesscripts' table), so the same loader, transforms,
training and evaluation code runs on both.

How a scene is drawn
--------------------
Each scene is a tiny 3-D world seen through a pinhole camera (:class:`Camera`): a straight
street along the depth axis ``Z`` (metres ahead of the camera), ``X`` to the right, ``Y`` up
from the road. Every surface is a flat rectangle on one of three kinds of plane:

* a *side* plane ``X = const`` (facades, fences, the sides of vehicles),
* a *front* plane ``Z = const`` facing the camera (people, poles, signs, the backs of cars),
* a *flat* plane ``Y = const`` (the road, car roofs).

For each surface we take the pixel window its corners project to, invert the projection there
(each pixel gets its in-plane coordinates, e.g. ``(Z, Y)`` on a facade), and decide with numpy
comparisons which pixels it covers: windows, wheels, lane markings and fence slats are just
conditions on those coordinates. Surfaces are painted back to front (the painter's algorithm),
and every paint writes the image *and* the label with the same mask, so each pixel's label is
the class of the surface drawn last there: the labels are exact.

To keep colour from giving the class away, a scene has a random illumination (sunny with cast
shadows or overcast, exposure, colour cast, haze), every object draws its colour from
distributions that overlap between classes (grey cars, grey roads, grey walls, grey buildings),
surfaces get smooth and fine texture noise, and the sensor adds per-pixel noise. Thin and small
classes (poles, signs, lights, fences, riders, bicycles) stay thin and small in perspective.

Everything is vectorised over the pixel window of one surface at a time (no Python loop touches
single pixels), and a street's facades, parks and fences are each drawn in one pass with a
per-column lookup of the lot each column sees. On one core of a small cloud VM a 256x512 scene
takes about 25-30 ms to draw and about 15 ms more to write as three PNGs (20-24 images/s);
512x1024 runs at about 7 images/s.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from cityscapesscripts.helpers.labels import labels, name2label
from matplotlib.figure import Figure
from PIL import Image

from bisenet.data.base import UNKNOWN
from bisenet.data.cityscapes import CITYSCAPES_CLASSES, LABEL_ID_TO_TRAIN_ID

VERSION = "1.0"
SPLITS: tuple[str, ...] = ("train", "val")  # the split index (0, 1) seeds the random streams
CITIES: dict[str, tuple[str, ...]] = {"train": ("aachenia", "bremenburg"), "val": ("frankton",)}
FRAME = 19  # Cityscapes' annotated frame is the 20th of each 30-frame snippet
META_FILE = "minicity.json"
MIN_SIZE = 64

# ----------------------------------------------------------------------------------------------
# Labels, straight from cityscapesscripts' table
# ----------------------------------------------------------------------------------------------


def _label_id(name: str) -> int:
    return name2label[name].id


EGO_VEHICLE = _label_id("ego vehicle")
STATIC = _label_id("static")
ROAD = _label_id("road")
SIDEWALK = _label_id("sidewalk")
BUILDING = _label_id("building")
WALL = _label_id("wall")
FENCE = _label_id("fence")
POLE = _label_id("pole")
TRAFFIC_LIGHT = _label_id("traffic light")
TRAFFIC_SIGN = _label_id("traffic sign")
VEGETATION = _label_id("vegetation")
TERRAIN = _label_id("terrain")
SKY = _label_id("sky")
PERSON = _label_id("person")
RIDER = _label_id("rider")
CAR = _label_id("car")
TRUCK = _label_id("truck")
BUS = _label_id("bus")
TRAIN = _label_id("train")
MOTORCYCLE = _label_id("motorcycle")
BICYCLE = _label_id("bicycle")

IGNORE = 255
#: The 19 evaluated classes, in train-id order (the Cityscapes loader's table).
TRAIN_CLASSES: tuple[str, ...] = CITYSCAPES_CLASSES


def _colour_lut() -> np.ndarray:
    """label id -> Cityscapes colour (RGB) as a (256, 3) table; unknown ids are black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    for lb in labels:
        if 0 <= lb.id < 256:
            lut[lb.id] = lb.color
    return lut


COLOUR_LUT: np.ndarray = _colour_lut()
#: label id -> train id (0..18, 255 for everything not evaluated): the loader's table, with
#: ids outside cityscapesscripts' table (which MiniCity never draws) also mapped to 255.
TRAIN_ID_LUT: np.ndarray = np.where(LABEL_ID_TO_TRAIN_ID == UNKNOWN, IGNORE, LABEL_ID_TO_TRAIN_ID).astype(np.uint8)


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map Cityscapes label ids to train ids (0..18, 255 for everything not evaluated)."""
    return TRAIN_ID_LUT[label_ids]


# ----------------------------------------------------------------------------------------------
# The camera, the canvas and the three kinds of surface
# ----------------------------------------------------------------------------------------------

NEAR = 0.3  # metres: nothing closer than this to the camera is drawn


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at height ``eye`` above the road, looking along +Z.

    A world point (X, Y, Z) lands at column ``cx + focal * X / Z`` and row
    ``horizon + focal * (eye - Y) / Z``. Yawing the camera a little moves ``cx`` (the vanishing
    point), pitching it moves ``horizon``.
    """

    height: int
    width: int
    focal: float
    cx: float
    horizon: float
    eye: float

    def col(self, x: float, z: float) -> float:
        return self.cx + self.focal * x / z

    def row(self, y: float, z: float) -> float:
        return self.horizon + self.focal * (self.eye - y) / z

    def pixels(self, metres: float, z: float) -> float:
        """How many pixels ``metres`` span at depth ``z``: far objects skip their details."""
        return self.focal * metres / max(z, NEAR)


@dataclass(frozen=True)
class Light:
    """The scene's illumination: how bright each orientation of surface is, and the haze."""

    sunny: bool
    sun_side: int  # -1: the sun is on the left of the street, +1: on the right
    front: float  # surfaces facing the camera
    top: float  # surfaces facing up
    lit: float  # side surfaces facing the sun
    unlit: float  # side surfaces facing away from it
    sky_top: np.ndarray
    sky_horizon: np.ndarray
    haze: np.ndarray  # colour distant surfaces fade to
    visibility: float  # metres; haze weight is 1 - exp(-depth / visibility)

    def side(self, x: float) -> float:
        """Brightness of a side surface at lateral position ``x`` as seen from the camera.

        A surface left of the camera (x < 0) shows us its right-facing side, which faces the
        sun when the sun is on the right, and the other way round.
        """
        facing = 1 if x < 0 else -1
        return self.lit if facing == self.sun_side else self.unlit


@dataclass
class Canvas:
    """What is being drawn: the image (float RGB), the label ids, and what draws need."""

    camera: Camera
    light: Light
    image: np.ndarray  # (3, H, W) float32 RGB planes, 0..255 before exposure
    label: np.ndarray  # (H, W) uint8 Cityscapes label ids
    grain: np.ndarray  # (H, W) float32 fine texture noise, about unit variance
    mottle: np.ndarray  # (H, W) float32 smooth blotchy noise, about unit variance
    textures: dict[str, np.ndarray]  # name -> (H, W) brightness factor, see TEXTURES
    y: np.ndarray  # (H, 1) float32 row centres: 0.5, 1.5, ...
    x: np.ndarray  # (1, W) float32 column centres
    # Scratch planes reused by paint(): allocating (and page-faulting) fresh memory for every
    # big window costs more than the arithmetic itself.
    scratch: np.ndarray  # (4, H, W) float32


@dataclass(slots=True)
class Face:
    """A surface's pixel window, the pixels it covers, and its in-plane coordinates there.

    ``a`` and ``b`` broadcast to ``mask``'s shape: (Z, Y) on a side plane, (X, Y) on a front
    plane, (X, Z) on a flat plane. ``depth`` (Z) drives the haze.
    """

    rows: slice
    cols: slice
    mask: np.ndarray
    a: np.ndarray
    b: np.ndarray
    depth: np.ndarray | float


def _window(
    canvas: Canvas, left: float, top: float, right: float, bottom: float
) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
    """The canvas rows/columns inside a box (clipped), with their pixel-centre coordinates
    as a (h, 1) column of y and a (1, w) row of x; None when the box misses the canvas."""
    height, width = canvas.label.shape
    lo_x, hi_x = max(left, 0.0), min(right, float(width))
    lo_y, hi_y = max(top, 0.0), min(bottom, float(height))
    if not (lo_x < hi_x and lo_y < hi_y):  # also false for NaN
        return None
    rows = slice(math.floor(lo_y), math.ceil(hi_y))
    cols = slice(math.floor(lo_x), math.ceil(hi_x))
    return rows, cols, canvas.y[rows], canvas.x[:, cols]


def side_face(canvas: Canvas, x: float, z0: float, z1: float, y0: float, y1: float) -> Face | None:
    """The rectangle ``z0 <= Z <= z1, y0 <= Y <= y1`` on the side plane ``X = x``."""
    cam = canvas.camera
    z0 = max(z0, NEAR)
    if z1 <= z0 or x == 0:
        return None
    cols = (cam.col(x, z0), cam.col(x, z1))
    rows = (cam.row(y0, z0), cam.row(y1, z0), cam.row(y0, z1), cam.row(y1, z1))
    win = _window(canvas, min(cols), min(rows), max(cols), max(rows))
    if win is None:
        return None
    r, c, py, px = win
    z = cam.focal * x / (px - cam.cx)  # (1, w): depth of each column on the plane
    y = cam.eye - (py - cam.horizon) * (z / cam.focal)  # (h, w): height of each pixel
    mask = ((z >= z0) & (z <= z1)) & (y >= y0) & (y <= y1)
    return Face(r, c, mask, z, y, z)


def front_face(canvas: Canvas, z: float, x0: float, x1: float, y0: float, y1: float) -> Face | None:
    """The rectangle ``x0 <= X <= x1, y0 <= Y <= y1`` on the front plane ``Z = z``."""
    cam = canvas.camera
    if z < NEAR or x1 <= x0:
        return None
    win = _window(canvas, cam.col(x0, z), cam.row(y1, z), cam.col(x1, z), cam.row(y0, z))
    if win is None:
        return None
    r, c, py, px = win
    x = (px - cam.cx) * (z / cam.focal)  # (1, w)
    y = cam.eye - (py - cam.horizon) * (z / cam.focal)  # (h, 1)
    mask = ((y >= y0) & (y <= y1)) & ((x >= x0) & (x <= x1))  # (h, 1) & (1, w)
    return Face(r, c, mask, x, y, z)


def flat_face(canvas: Canvas, y: float, x0: float, x1: float, z0: float, z1: float) -> Face | None:
    """The rectangle ``x0 <= X <= x1, z0 <= Z <= z1`` on the flat plane ``Y = y`` below the eye."""
    cam = canvas.camera
    drop = cam.eye - y
    z0 = max(z0, NEAR)
    if drop <= 0 or z1 <= z0 or x1 <= x0:
        return None
    cols = (cam.col(x0, z0), cam.col(x1, z0), cam.col(x0, z1), cam.col(x1, z1))
    win = _window(canvas, min(cols), cam.row(y, z1), max(cols), cam.row(y, z0))
    if win is None:
        return None
    r, c, py, px = win
    z = cam.focal * drop / (py - cam.horizon)  # (h, 1)
    x = (px - cam.cx) * (z / cam.focal)  # (h, w)
    mask = ((z >= z0) & (z <= z1)) & (x >= x0) & (x <= x1)
    return Face(r, c, mask, x, z, z)


def paint(
    canvas: Canvas,
    face: Face,
    mask: np.ndarray,
    rgb: np.ndarray,
    label: int | None = None,
    shade: float | np.ndarray = 1.0,
    texture: str | None = None,
) -> None:
    """Paint ``rgb`` where ``mask`` holds inside ``face``'s window, and write ``label`` there
    (None: leave the labels, for details such as windows that belong to the surface below).
    ``rgb`` is one colour (3,) or colour planes broadcasting to the window, e.g. (3, 1, w).

    ``shade`` scales the colour (a number or an array over the window), ``texture`` names one
    of the scene's TEXTURES (fine and smooth noise) or None, and distance adds haze.
    The colour is computed over the whole window and copied where ``mask`` holds: dense numpy
    arithmetic is faster than gathering and scattering the masked pixels.
    """
    face, mask, shade, rgb = _crop(face, mask, shade, rgb)
    if face is None:
        return
    r, c = face.rows, face.cols
    h, w = mask.shape
    light = canvas.light
    # Depth varies along one axis at most (a number, a row or a column), so the haze is cheap.
    if isinstance(face.depth, np.ndarray):
        haze = 1.0 - np.exp(face.depth * np.float32(-1.0 / light.visibility))
    else:
        haze = 1.0 - math.exp(-float(face.depth) / light.visibility)
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim == 1:
        rgb = rgb[:, None, None]
    if texture is None and not isinstance(shade, np.ndarray):  # a flat colour (per column at most)
        colour = rgb * np.float32(shade * (1.0 - haze)) + haze * light.haze[:, None, None]
    else:
        colour, factor = canvas.scratch[:3, :h, :w], canvas.scratch[3, :h, :w]
        np.multiply(shade, 1.0 - haze, out=factor)  # brightness of each pixel
        if texture is not None:
            factor *= canvas.textures[texture][r, c]
        np.multiply(rgb, factor, out=colour)  # (3, h, w)
        colour += haze * light.haze[:, None, None]
    np.copyto(canvas.image[:, r, c], colour, where=mask)
    if label is not None:
        np.copyto(canvas.label[r, c], np.uint8(label), where=mask)


def _crop(face: Face, mask: np.ndarray, *arrays: float | np.ndarray) -> tuple:
    """Shrink ``face``'s window to the bounding box of ``mask`` (sparse masks in big windows:
    fence slats, shop windows...), cropping ``arrays`` that broadcast to the window alike.
    Returns (face, mask, *arrays), with face None when the mask is empty."""
    h, w = mask.shape
    if h * w < 4096:  # small windows: cropping would cost more than it saves
        return (face, mask, *arrays)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return (None, mask, *arrays)
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (r1 - r0) * (c1 - c0) > 0.7 * h * w:
        return (face, mask, *arrays)

    def cut(a: float | np.ndarray) -> float | np.ndarray:
        if not isinstance(a, np.ndarray) or a.ndim < 2:
            return a
        rs = slice(r0, r1) if a.shape[-2] > 1 else slice(None)
        cs = slice(c0, c1) if a.shape[-1] > 1 else slice(None)
        return a[..., rs, cs]

    start_r, start_c = face.rows.start, face.cols.start
    cropped = Face(
        slice(start_r + r0, start_r + r1),
        slice(start_c + c0, start_c + c1),
        mask[r0:r1, c0:c1],
        cut(face.a),
        cut(face.b),
        cut(face.depth),
    )
    return (cropped, cropped.mask, *(cut(a) for a in arrays))


def darken(
    canvas: Canvas, face: Face, mask: np.ndarray, factor: float | np.ndarray, only: tuple[int, ...] = ()
) -> None:
    """Scale the image (not the labels) under ``mask``, e.g. a shadow or a window pane.
    ``factor``: a number, one per channel (3,), or planes broadcasting to the window such as
    (3, 1, w); ``only``: restrict to pixels currently labelled with one of these ids."""
    factor = np.asarray(factor, dtype=np.float32)
    if factor.ndim == 1:
        factor = factor[:, None, None]
    face, mask, factor = _crop(face, mask, factor)
    if face is None:
        return
    r, c = face.rows, face.cols
    if only:
        here = canvas.label[r, c]
        mask = mask & np.logical_or.reduce([here == label for label in only])
    view = canvas.image[:, r, c]
    np.multiply(view, factor, out=view, where=mask)


def wrap(a: np.ndarray, period: float | np.ndarray) -> np.ndarray:
    """``a`` modulo ``period`` (for repeating patterns: windows, dashes, slats); the same as
    np.mod for positive periods, but np.mod on floats is some 20x slower than floor."""
    return a - np.floor(a / period) * period


# Shapes on a face's in-plane coordinates (arrays broadcasting to the face's window).


def ellipse(a: np.ndarray, b: np.ndarray, ca: float, cb: float, ra: float, rb: float) -> np.ndarray:
    """Inside the ellipse centred at (ca, cb) with radii (ra, rb)."""
    return ((a - ca) / ra) ** 2 + ((b - cb) / rb) ** 2 <= 1.0


def box(a: np.ndarray, b: np.ndarray, a0: float, a1: float, b0: float, b1: float) -> np.ndarray:
    """Inside the axis-aligned box [a0, a1] x [b0, b1]."""
    return (a >= a0) & (a <= a1) & (b >= b0) & (b <= b1)


def segment(
    a: np.ndarray, b: np.ndarray, p: tuple[float, float], q: tuple[float, float], thickness: float
) -> np.ndarray:
    """A bar of width ``thickness`` from p to q (overshooting both ends by half the width, so
    that bars meeting at a joint leave no gap): a rectangle in the bar's own coordinates."""
    length = math.hypot(q[0] - p[0], q[1] - p[1]) + 1e-9
    ua, ub = (q[0] - p[0]) / length, (q[1] - p[1]) / length  # unit vector along the bar
    pa, pb = a - p[0], b - p[1]  # (1, w) and (h, 1) on a front face: cheap
    along = pa * ua + pb * ub
    across = pa * ub - pb * ua
    half = thickness / 2
    return (np.abs(across) <= half) & (along >= -half) & (along <= length + half)


# ----------------------------------------------------------------------------------------------
# Noise and colours
# ----------------------------------------------------------------------------------------------


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], cell: float, out: np.ndarray | None = None
) -> np.ndarray:
    """Unit-variance-ish noise, smooth over ``cell`` pixels: a small random grid enlarged by
    bilinear interpolation, one axis at a time (gathering whole rows, which is fast, and
    transposing in between). The field changes so slowly that it is computed on pixels
    ``step`` times coarser and then repeated, which is much cheaper and looks the same.
    Written into ``out`` (float32, ``shape``) when given."""
    height, width = shape
    cell = max(cell, 1.0)
    step = max(1, round(cell / 10))
    rows, cols, cell = -(-height // step), -(-width // step), cell / step
    grid = rng.standard_normal((int(rows / cell) + 2, int(cols / cell) + 2), dtype=np.float32)

    def stretch_rows(small: np.ndarray, n: int) -> np.ndarray:
        """(nodes, k) -> (n, k): each output row blends the two nearest node rows."""
        position = (np.arange(n, dtype=np.float32) + 0.5) / np.float32(cell)
        node = position.astype(np.int64)
        t = (position - node.astype(np.float32))[:, None]
        return small[node] * (1 - t) + small[node + 1] * t

    tall = stretch_rows(grid, rows)  # (rows, nodes across)
    coarse = stretch_rows(np.ascontiguousarray(tall.T), cols).T * np.float32(1.5)  # (rows, cols)
    # (bilinear blending loses variance between the nodes, hence the 1.5); now repeat each
    # coarse pixel step x step times
    out = np.empty(shape, dtype=np.float32) if out is None else out
    tall_rows = np.take(coarse, np.arange(height) // step, axis=0)
    return np.take(tall_rows, np.arange(width) // step, axis=1, out=out, mode="clip")


def grain_noise(
    rng: np.random.Generator, shape: tuple[int, int], cell: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Unit-variance uniform noise in blocks of ``cell`` x ``cell`` pixels (random bytes,
    enlarged with np.kron when cell > 1). Written into ``out`` (float32, ``shape``) when given."""
    height, width = shape
    rows, cols = -(-height // cell), -(-width // cell)
    small = np.frombuffer(rng.bytes(rows * cols), dtype=np.uint8).reshape(rows, cols)  # uniform 0..255
    if cell > 1:
        small = np.kron(small, np.ones((cell, cell), dtype=np.uint8))[:height, :width]
    out = np.empty(shape, dtype=np.float32) if out is None else out
    np.subtract(small, np.float32(127.5), out=out)
    out *= np.float32(3.464 / 256)  # zero mean, unit variance
    return out


def _palette(*rgbs: tuple[int, int, int]) -> np.ndarray:
    return np.array(rgbs, dtype=np.float32)


# Overlapping palettes: greys appear among facades, cars, walls, roads and poles alike.
FACADE_COLOURS = _palette(
    (200, 186, 160), (214, 208, 198), (142, 140, 138), (172, 168, 162), (150, 84, 62), (188, 158, 112),
    (206, 188, 122), (158, 172, 186), (96, 90, 84), (190, 150, 140), (120, 112, 100), (225, 220, 210),
)
VEHICLE_COLOURS = _palette(
    (222, 222, 222), (172, 174, 178), (112, 112, 116), (32, 32, 36), (30, 42, 84), (150, 24, 28),
    (44, 74, 140), (42, 82, 54), (184, 172, 142), (92, 62, 42), (70, 72, 76), (200, 200, 190),
)
BUS_COLOURS = _palette((226, 196, 40), (222, 222, 222), (170, 30, 30), (40, 90, 170), (50, 130, 70), (180, 180, 184))
WALL_COLOURS = _palette(
    (150, 150, 146), (180, 176, 168), (120, 118, 112), (160, 96, 76), (196, 186, 160), (96, 96, 94),
)
FENCE_COLOURS = _palette((90, 96, 90), (40, 60, 44), (130, 100, 70), (200, 200, 196), (150, 150, 150), (60, 60, 64))
POLE_COLOURS = _palette((120, 122, 124), (160, 162, 164), (50, 70, 56), (40, 40, 42), (96, 96, 100), (170, 168, 150))
FOLIAGE_COLOURS = _palette((60, 98, 40), (82, 116, 46), (44, 80, 42), (100, 120, 60), (120, 110, 50), (70, 90, 70))
GRASS_COLOURS = _palette((96, 128, 56), (120, 140, 70), (140, 136, 84), (110, 100, 70), (80, 110, 60))
ROAD_COLOURS = _palette((84, 84, 88), (100, 98, 96), (70, 72, 76), (118, 116, 112), (92, 88, 84))
PAVEMENT_COLOURS = _palette((150, 148, 144), (176, 170, 160), (128, 126, 124), (160, 124, 112), (190, 184, 170))
SKIN_COLOURS = _palette((236, 196, 170), (210, 160, 120), (170, 120, 84), (110, 74, 50), (224, 180, 150))
GLASS_COLOURS = _palette((40, 50, 60), (70, 84, 96), (30, 34, 38), (96, 110, 124), (56, 64, 60))
SIGN_COLOURS = _palette((200, 30, 30), (30, 70, 170), (230, 230, 230), (220, 190, 30), (30, 120, 60))
SIGNAL_HOUSINGS = _palette((35, 35, 35), (40, 60, 40), (200, 170, 40), (70, 70, 72))
SIGNAL_LAMPS = _palette((255, 40, 30), (255, 170, 20), (60, 255, 140))  # red, amber, green


def vary(rng: np.random.Generator, rgb: np.ndarray, brightness: float = 0.15, tint: float = 0.06) -> np.ndarray:
    """``rgb`` with a random brightness and a small random tint."""
    u = rng.random(4, dtype=np.float32) * 2 - 1  # four numbers in [-1, 1)
    scale = (1 + brightness * u[0]) * (1 + tint * u[1:])
    return np.minimum(rgb * scale, 255)


def pick(rng: np.random.Generator, palette: np.ndarray, brightness: float = 0.15, tint: float = 0.06) -> np.ndarray:
    """A random colour of ``palette``, varied."""
    return vary(rng, palette[int(rng.random() * len(palette))], brightness, tint)


def any_colour(rng: np.random.Generator) -> np.ndarray:
    """Clothes and such: anything, more often dark."""
    return rng.uniform(10, 235, 3).astype(np.float32) * np.float32(rng.uniform(0.35, 1.0))


# ----------------------------------------------------------------------------------------------
# The scene plan: camera, light, street, lots
# ----------------------------------------------------------------------------------------------


FRONTS = ("wall", "fence", "hedge")  # what may stand along the front of a lot


@dataclass
class Lot:
    """A stretch ``z0..z1`` of one side of the street: a building or a park, maybe fronted
    by a wall, a fence or a hedge."""

    kind: str  # "building" or "park"
    z0: float
    z1: float
    height: float
    front: str  # "none", "wall", "fence" or "hedge"


@dataclass
class Side:
    """One side of the street. Distances are lateral, from the camera, growing outwards."""

    sign: int  # -1: left, +1: right
    road_edge: float  # where the road (including a parking strip) ends
    parking: float  # width of the parking strip inside road_edge (0: none)
    kerb: float
    verge: float  # grass between kerb and sidewalk
    sidewalk: float
    yard: float  # grass between sidewalk and facades
    lots: list[Lot] = field(default_factory=list)

    @property
    def walk_from(self) -> float:
        return self.road_edge + self.kerb + self.verge

    @property
    def walk_to(self) -> float:
        return self.walk_from + self.sidewalk

    @property
    def facade(self) -> float:
        return self.walk_to + self.yard


@dataclass
class Street:
    """The street: its lanes (camera in one of them, at X = 0), both sides, and its far end."""

    lane_width: float
    lanes: int
    oncoming: int  # how many of the leftmost lanes carry oncoming traffic
    left: Side
    right: Side
    end: float  # Z of the buildings closing the view

    def lane_centre(self, i: int) -> float:
        """X of the centre of lane i (0 = leftmost)."""
        return -self.left.road_edge + self.left.parking + (i + 0.5) * self.lane_width


def random_camera(rng: np.random.Generator, height: int, width: int) -> Camera:
    """A camera with a random focal length, yaw (vanishing point), pitch (horizon) and height."""

    def off_centre(v: float) -> float:  # keep the vanishing point off pixel centres (no 0 / 0)
        return v + 0.01 if v % 1.0 == 0.5 else v

    return Camera(
        height=height,
        width=width,
        focal=width * rng.uniform(0.72, 1.0),
        cx=off_centre(width * (0.5 + rng.uniform(-0.12, 0.12))),
        horizon=off_centre(height * rng.uniform(0.36, 0.5)),
        eye=rng.uniform(1.25, 1.6),
    )


def random_light(rng: np.random.Generator) -> Light:
    """Sunny (blue sky, lit and shaded sides, cast shadows) or overcast (grey sky, flat light)."""
    sunny = bool(rng.random() < 0.5)
    if sunny:
        top = vary(rng, np.array([80, 135, 205], np.float32), 0.15, 0.08)
        horizon = vary(rng, np.array([200, 214, 230], np.float32), 0.08, 0.04)
        lit, unlit, front, up = rng.uniform(1.05, 1.25), rng.uniform(0.45, 0.7), rng.uniform(0.75, 0.95), 1.1
    else:
        grey = rng.uniform(150, 215)
        top = vary(rng, np.array([grey, grey, grey + 8], np.float32), 0.05, 0.04)
        horizon = vary(rng, np.array([grey + 20, grey + 20, grey + 22], np.float32), 0.05, 0.03)
        lit, unlit, front, up = rng.uniform(0.9, 1.0), rng.uniform(0.75, 0.9), rng.uniform(0.85, 0.95), 1.0
    return Light(
        sunny=sunny,
        sun_side=int(rng.choice([-1, 1])),
        front=front,
        top=up,
        lit=lit,
        unlit=unlit,
        sky_top=np.clip(top, 0, 255),
        sky_horizon=np.clip(horizon, 0, 255),
        haze=np.clip(horizon * 0.9, 0, 255).astype(np.float32),
        visibility=rng.uniform(150, 900),
    )


def plan_lots(rng: np.random.Generator, end: float) -> list[Lot]:
    """Buildings and parks along one side, from behind the camera to the end of the street."""
    lots: list[Lot] = []
    z = -rng.uniform(0, 10)
    park_share = (0.1, 0.25, 0.5)[int(rng.random() * 3)]
    while z < end:
        length = rng.uniform(8, 30)
        park = rng.random() < park_share
        height = rng.uniform(4, 12) if park else rng.uniform(6, 26)
        # in front: none, a wall, a fence or a hedge (parks are fenced more often)
        odds = (0.35, 0.45, 0.8) if park else (0.7, 0.8, 0.92)
        front = ("none", "wall", "fence", "hedge")[int(np.searchsorted(odds, rng.random()))]
        lots.append(Lot("park" if park else "building", z, min(z + length, end), height, front))
        z += length
    return lots


def plan_side(rng: np.random.Generator, sign: int, road_edge: float, parking: float, end: float) -> Side:
    """One side: kerb, sometimes a grass verge, the sidewalk, sometimes a front yard, the lots."""
    return Side(
        sign=sign,
        road_edge=road_edge,
        parking=parking,
        kerb=rng.uniform(0.15, 0.3),
        verge=rng.uniform(0.8, 2.5) if rng.random() < 0.25 else 0.0,
        sidewalk=rng.uniform(1.8, 4.5),
        yard=rng.uniform(1.5, 5.0) if rng.random() < 0.15 else 0.0,
        lots=plan_lots(rng, end),
    )


def plan_street(rng: np.random.Generator) -> Street:
    """2 to 4 lanes (some oncoming), parking strips, and both sides of the street."""
    lane_width = rng.uniform(2.8, 3.6)
    lanes = int(rng.choice([2, 2, 3, 4]))
    own_lane = int(rng.integers(lanes // 2, lanes))  # we drive in one of the right-hand lanes
    oncoming = int(rng.integers(0, lanes // 2 + 1)) if rng.random() < 0.7 else 0
    parking_left = rng.uniform(2.0, 2.4) if rng.random() < 0.4 else 0.0
    parking_right = rng.uniform(2.0, 2.4) if rng.random() < 0.5 else 0.0
    left_edge = parking_left + (own_lane + 0.5) * lane_width  # camera at X = 0, centre of own lane
    right_edge = parking_right + (lanes - own_lane - 0.5) * lane_width
    end = rng.uniform(60, 250)
    return Street(
        lane_width=lane_width,
        lanes=lanes,
        oncoming=oncoming,
        left=plan_side(rng, -1, left_edge, parking_left, end),
        right=plan_side(rng, 1, right_edge, parking_right, end),
        end=end,
    )


# Surface textures: brightness factors 1 + fine * grain + smooth * mottle, made once per scene.
TEXTURES: dict[str, tuple[float, float]] = {
    "fine": (0.05, 0.1),  # paint, plaster, clothes
    "rough": (0.12, 0.16),  # concrete, asphalt, bark, worn paint
    "leafy": (0.4, 0.25),  # foliage and grass
}


@functools.lru_cache(maxsize=4)
def _buffers(height: int, width: int, thread: int) -> dict[str, np.ndarray]:
    """The big arrays a scene of this size draws into, kept from one scene to the next (one
    set per thread). A fresh array of a megabyte comes from the operating system as untouched
    memory pages, and touching them for the first time costs more than drawing into them."""
    shape = (height, width)
    return {
        "image": np.empty((3, *shape), dtype=np.float32),
        "label": np.empty(shape, dtype=np.uint8),
        "scratch": np.empty((4, *shape), dtype=np.float32),
        "textures": np.empty((len(TEXTURES), *shape), dtype=np.float32),
        "grain": np.empty(shape, dtype=np.float32),
        "mottle": np.empty(shape, dtype=np.float32),
    }


def new_canvas(rng: np.random.Generator, camera: Camera, light: Light) -> Canvas:
    """An empty canvas with this scene's noise fields and texture planes."""
    shape = (camera.height, camera.width)
    buffers = _buffers(*shape, threading.get_ident())
    grain = grain_noise(rng, shape, max(1, round(camera.width / 512)), out=buffers["grain"])
    mottle = smooth_noise(rng, shape, camera.width / 20, out=buffers["mottle"])
    textures = {}
    for plane, (name, (fine, smooth)) in zip(buffers["textures"], TEXTURES.items()):
        np.multiply(grain, np.float32(fine), out=plane)  # 1 + fine * grain + smooth * mottle
        plane += 1.0
        plane += np.multiply(mottle, np.float32(smooth), out=buffers["scratch"][0])
        textures[name] = plane
    # (no need to clear the image and labels: the sky and the ground cover every pixel first)
    return Canvas(
        camera=camera,
        light=light,
        image=buffers["image"],
        label=buffers["label"],
        grain=grain,
        mottle=mottle,
        textures=textures,
        y=(np.arange(camera.height, dtype=np.float32) + 0.5)[:, None],
        x=(np.arange(camera.width, dtype=np.float32) + 0.5)[None, :],
        scratch=buffers["scratch"],
    )


# ----------------------------------------------------------------------------------------------
# Background: sky, ground, the end of the street, the roadsides
# ----------------------------------------------------------------------------------------------


def draw_sky(canvas: Canvas, rng: np.random.Generator) -> None:
    """A vertical gradient down to the horizon with soft clouds; everything else covers it."""
    cam, light = canvas.camera, canvas.light
    rows = int(np.floor(cam.horizon - 0.5)) + 1  # rows whose centre is at or above the horizon
    t = canvas.y[:rows] / max(cam.horizon, 1.0)  # (rows, 1): 0 at the top, 1 at the horizon
    cover = rng.uniform(-0.5, 1.2)  # how cloudy
    clouds = np.clip((canvas.mottle[:rows] - 1.0 + cover) * 1.2, 0, 1)  # (rows, W)
    cloud = rng.uniform(200, 250)
    for channel in range(3):
        sky = light.sky_top[channel] * (1 - t) + light.sky_horizon[channel] * t  # (rows, 1)
        canvas.image[channel, :rows] = sky + (cloud - sky) * clouds
    canvas.label[:rows] = SKY


# Ground zones: each pixel below the horizon is one of these, by its lateral position.
GRASS_ZONE, WALK_ZONE, KERB_ZONE, ROAD_ZONE = 0, 1, 2, 3


def ground_zones(street: Street, x: np.ndarray) -> np.ndarray:
    """The zone (GRASS_ZONE ... ROAD_ZONE) of each lateral position ``x`` on the ground."""
    zone = np.full(x.shape, GRASS_ZONE, dtype=np.uint8)
    for side in (street.left, street.right):
        d = x * side.sign  # distance towards this side
        zone[(d > side.walk_from) & (d <= side.walk_to)] = WALK_ZONE
        zone[(d > side.road_edge) & (d <= side.road_edge + side.kerb)] = KERB_ZONE
    zone[(x >= -street.left.road_edge) & (x <= street.right.road_edge)] = ROAD_ZONE
    return zone


def draw_ground(canvas: Canvas, rng: np.random.Generator, street: Street) -> None:
    """Road, kerbs, sidewalks and grass, with lane markings, paving and shadows.

    The ground fills every row below the horizon. Each pixel's zone picks its colour, label and
    texture from small per-zone tables, so the whole ground is painted in one pass.
    """
    cam, light = canvas.camera, canvas.light
    r0 = int(np.floor(cam.horizon - 0.5)) + 1  # the first row whose centre is below the horizon
    rows = slice(r0, cam.height)
    py, px = canvas.y[rows], canvas.x
    z = cam.focal * cam.eye / (py - cam.horizon)  # (h, 1): depth of each row
    x = (px - cam.cx) * z / cam.focal  # (h, w): lateral position of each pixel
    ground = Face(rows, slice(0, cam.width), np.ones(x.shape, bool), x, z, z)
    zone = ground_zones(street, x)

    grass, walk = pick(rng, GRASS_COLOURS, 0.2), pick(rng, PAVEMENT_COLOURS, 0.15)
    kerb, asphalt = pick(rng, PAVEMENT_COLOURS, 0.1) * 1.1, pick(rng, ROAD_COLOURS, 0.2)
    colours = np.stack([grass, walk, kerb, asphalt]).astype(np.float32)  # one row per zone
    label_ids = np.array([TERRAIN, SIDEWALK, SIDEWALK, ROAD], dtype=np.uint8)
    textures = canvas.textures
    texture = np.where(zone == GRASS_ZONE, textures["leafy"][rows], textures["rough"][rows])
    texture = np.where((zone == WALK_ZONE) | (zone == KERB_ZONE), textures["fine"][rows], texture)
    haze = 1.0 - np.exp(z * np.float32(-1.0 / light.visibility))  # (h, 1)
    factor = (light.top * 0.92) * (1.0 - haze) * texture
    for channel in range(3):
        canvas.image[channel, rows] = np.take(colours[:, channel], zone) * factor + haze * float(light.haze[channel])
    canvas.label[rows] = np.take(label_ids, zone)

    # Paving joints: image only.
    tile = rng.uniform(0.3, 0.8)
    joints = (zone == WALK_ZONE) & ((wrap(x, tile) < 0.04) | (wrap(z, tile) < 0.04 * tile / 0.3))
    darken(canvas, ground, joints, rng.uniform(0.75, 0.9))

    draw_lane_markings(canvas, rng, street, ground, zone == ROAD_ZONE)
    if light.sunny:
        draw_ground_shadows(canvas, rng, street, ground)


def draw_lane_markings(
    canvas: Canvas, rng: np.random.Generator, street: Street, ground: Face, road: np.ndarray
) -> None:
    """Dashed lane lines, a solid centre line, edge lines and sometimes a zebra crossing
    (all labelled road)."""
    x, z = ground.a, ground.b
    paint_white = vary(rng, np.array([215, 215, 205], np.float32), 0.15)
    half = rng.uniform(0.05, 0.08)
    period, phase = rng.uniform(9, 14), rng.uniform(0, 1)
    lines = np.zeros(x.shape, bool)
    dashes = wrap(z / period + phase, 1.0) < rng.uniform(0.3, 0.5)
    for i in range(1, street.lanes):
        xb = street.lane_centre(i) - street.lane_width / 2
        on_line = np.abs(x - xb) < half
        lines |= on_line if i == street.oncoming else on_line & dashes
    for side in (street.left, street.right):
        if side.parking:  # the line between the parking strip and the lanes
            xb = side.sign * (side.road_edge - side.parking)
            lines |= (np.abs(x - xb) < half * 0.8) & (wrap(z / 6.0, 1.0) < 0.5)
        elif rng.random() < 0.5:
            lines |= np.abs(x - side.sign * (side.road_edge - 0.35)) < half
    if rng.random() < 0.2:  # a zebra crossing
        zc = rng.uniform(8, 40)
        lines |= (z >= zc) & (z <= zc + rng.uniform(3, 5)) & (wrap(x, 1.0) < 0.5)
    paint(canvas, ground, lines & road, paint_white, ROAD, canvas.light.top * 0.9, texture="rough")


def draw_ground_shadows(canvas: Canvas, rng: np.random.Generator, street: Street, ground: Face) -> None:
    """Sunny scenes: the buildings on the sun's side shade a strip of the street (wider where
    they are taller), and patches of dappled shade lie around."""
    side = street.left if canvas.light.sun_side < 0 else street.right
    x, z = ground.a, ground.b
    reach = rng.uniform(0.3, 1.0)
    ends = np.array([lot.z1 for lot in side.lots])
    widths = np.array([lot.height * reach if lot.kind == "building" else 0.0 for lot in side.lots])
    width = widths[np.clip(np.searchsorted(ends, z), 0, len(widths) - 1)]  # (h, 1) per row
    darken(canvas, ground, x * side.sign >= side.facade - width, rng.uniform(0.45, 0.65))
    if rng.random() < 0.5:  # patches of light shade (clouds, trees out of view)
        dapple = canvas.mottle[ground.rows, ground.cols] > rng.uniform(1.2, 2.0)
        darken(canvas, ground, dapple, rng.uniform(0.7, 0.85))


def draw_facade_windows(
    canvas: Canvas, rng: np.random.Generator, face: Face, along: np.ndarray, up: np.ndarray, height: float
) -> None:
    """Rows of windows on a facade, in facade coordinates (``along`` the wall, ``up``); the
    smooth noise makes their reflections vary across the facade."""
    floor = rng.uniform(2.8, 3.8)
    spacing = rng.uniform(1.8, 4.0)
    half_w = spacing * rng.uniform(0.18, 0.32)
    half_h = floor * rng.uniform(0.2, 0.32)
    ground_floor = rng.uniform(3.0, 4.5)
    u = np.abs(wrap(along, spacing) - spacing / 2)  # distance from the nearest window's axis
    v = np.abs(wrap(up - ground_floor, floor) - floor / 2)
    windows = face.mask & (u < half_w) & (v < half_h) & (up > ground_floor) & (up < height - 1.0)
    paint(canvas, face, windows, pick(rng, GLASS_COLOURS, 0.25), None, rng.uniform(0.6, 1.1), texture="rough")
    cornice = face.mask & (up > height - rng.uniform(0.3, 0.7))
    darken(canvas, face, cornice, rng.uniform(0.7, 1.25))
    if rng.random() < 0.6:  # shop windows on the ground floor
        shop = rng.uniform(3.0, 6.0)
        shops = face.mask & (np.abs(wrap(along, shop) - shop / 2) < shop * 0.35)
        shops &= (up > 0.3) & (up < ground_floor * 0.8)
        paint(canvas, face, shops, pick(rng, GLASS_COLOURS, 0.3), None, 0.8, texture="rough")


def draw_street_end(canvas: Canvas, rng: np.random.Generator, street: Street) -> None:
    """Buildings (or trees) across the far end of the street, facing the camera."""
    z = street.end
    x = -street.left.facade - rng.uniform(0, 20)
    stop = street.right.facade + rng.uniform(0, 20)
    while x < stop:
        width = rng.uniform(10, 35)
        if rng.random() < 0.75:
            height = rng.uniform(6, 35)
            face = front_face(canvas, z, x, x + width, 0, height)
            if face is not None:
                wall = pick(rng, FACADE_COLOURS)
                paint(canvas, face, face.mask, wall, BUILDING, canvas.light.front, texture="fine")
                draw_facade_windows(canvas, rng, face, face.a, face.b, height)
        else:
            height = rng.uniform(5, 14)
            face = front_face(canvas, z, x, x + width, 0, height)
            if face is not None:
                top = height - 2.5 + 2.0 * np.sin(face.a * rng.uniform(0.3, 1.0) + rng.uniform(0, 6))
                leaves = face.mask & (face.b <= top)
                paint(canvas, face, leaves, pick(rng, FOLIAGE_COLOURS), VEGETATION, 0.9, texture="leafy")
        x += width


def lot_lookup(lots: list[Lot], z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of ``lots`` (sorted along the street, not overlapping) each image column of a side
    plane falls in, from the depth ``z`` (1, w) of the columns.

    Returns the lot index per column (w,), the distance along the lot from its near end (1, w),
    and whether the column falls inside a lot at all (1, w).
    """
    starts = np.array([lot.z0 for lot in lots], dtype=np.float32)
    ends = np.array([lot.z1 for lot in lots], dtype=np.float32)
    index = np.minimum(np.searchsorted(ends, z[0]), len(lots) - 1)
    along = z - starts[index]
    return index, along, (along >= 0) & (z <= ends[index])


def split_by_depth(lots: list[Lot], depths: tuple[float, ...] = (15.0, 45.0)) -> list[slice]:
    """Runs of consecutive lots (sorted by depth) ending before each of ``depths``, then the
    rest. A row of facades seen in perspective is a wedge narrowing towards the vanishing
    point; giving near and far lots their own windows keeps each window close to the wedge."""
    cuts = [sum(lot.z1 <= depth for lot in lots) for depth in depths]
    edges = sorted({0, *cuts, len(lots)})
    return [slice(a, b) for a, b in zip(edges, edges[1:])]


def draw_facades(canvas: Canvas, rng: np.random.Generator, x: float, lots: list[Lot], heights: np.ndarray) -> None:
    """Buildings side by side along the side plane X = x (one per lot), in a few passes.

    Each image column sees the plane at a single depth, hence in a single lot. So the lots'
    parameters (height, wall colour, window grid, glass tint) go into arrays, each column looks
    up its lot, and a whole row of buildings, windows included, takes a handful of array
    operations instead of a loop over buildings.
    """
    n = len(lots)
    heights = np.asarray(heights, dtype=np.float32)
    walls = FACADE_COLOURS[(rng.random(n) * len(FACADE_COLOURS)).astype(int)] * rng.uniform(0.8, 1.2, (n, 1))
    glass = rng.uniform(0.25, 0.6, (n, 1)) * rng.uniform(0.85, 1.15, (n, 3))  # how windows darken the wall
    floor, spacing = rng.uniform(2.8, 3.8, n), rng.uniform(1.8, 4.0, n)
    half_w, half_h = spacing * rng.uniform(0.18, 0.32, n), floor * rng.uniform(0.2, 0.32, n)
    ground_floor, shop = rng.uniform(3.0, 4.5, n), rng.uniform(3.0, 6.0, n)
    has_shops = rng.random(n) < 0.6
    shade = canvas.light.side(x)
    for group in split_by_depth(lots):
        face = side_face(canvas, x, lots[group.start].z0, lots[group.stop - 1].z1, 0, float(heights[group].max()))
        if face is None:
            continue
        y = face.b  # (h, w): height of each pixel on the plane
        index, along, inside = lot_lookup(lots[group], face.a)
        lot = group.start + index  # (w,): the lot each column sees
        height = heights[lot]
        wall = face.mask & inside & (y <= height)
        paint(canvas, face, wall, walls[lot].T[:, None, :], BUILDING, shade, texture="fine")

        # Windows: a grid in (along, up) facade coordinates, above the ground floor; shop windows
        # in the ground floor. Both darken the wall by the lot's glass tint.
        gf = ground_floor[lot]
        u = np.abs(wrap(along, spacing[lot]) - spacing[lot] / 2)  # distance to the nearest window axis
        storey = (y - gf) * (1.0 / floor[lot])  # storeys above the ground floor
        v = np.abs(storey - np.floor(storey) - 0.5)  # distance to the middle of the storey, in storeys
        windows = (u < half_w[lot]) & (v < half_h[lot] / floor[lot]) & (storey > 0) & (y < height - 1.0)
        shops = has_shops[lot] & (np.abs(wrap(along, shop[lot]) - shop[lot] / 2) < shop[lot] * 0.35)
        windows |= shops & (y > 0.3) & (y < gf * 0.8)
        darken(canvas, face, wall & windows, glass[lot].T[:, None, :])


def draw_tree_line(canvas: Canvas, rng: np.random.Generator, x: float, lots: list[Lot]) -> None:
    """The trees of parks (one stretch per lot) along the side plane X = x: a wall of foliage
    whose top is a row of rounded crowns with a ragged, leafy edge."""
    n = len(lots)
    heights = np.array([lot.height for lot in lots], dtype=np.float32)
    crown, spacing, phase = rng.uniform(1, 3, n), rng.uniform(4, 9, n), rng.random(n)
    foliage = FOLIAGE_COLOURS[(rng.random(n) * len(FOLIAGE_COLOURS)).astype(int)] * rng.uniform(0.8, 1.2, (n, 1))
    face = side_face(canvas, x, lots[0].z0, lots[-1].z1, 0, float(heights.max()) + 1.0)
    if face is None:
        return
    z, y = face.a, face.b
    lot, along, inside = lot_lookup(lots, z)
    s = wrap(along / spacing[lot] + phase[lot], 1.0)  # position within a crown, 0..1
    top = heights[lot] - crown[lot] * (1.0 - np.sqrt(1.0 - (2.0 * s - 1.0) ** 2))  # (1, w): round crowns
    shade = 0.75 + 0.35 * np.minimum(y / heights[lot], 1.0)  # darker near the ground
    leaves = face.mask & inside & (y <= top + 0.3 * canvas.grain[face.rows, face.cols])
    paint(canvas, face, leaves, foliage[lot].T[:, None, :], VEGETATION, shade, texture="leafy")


def draw_lot_fronts(canvas: Canvas, rng: np.random.Generator, side: Side) -> None:
    """Walls, fences and hedges along the back edge of the sidewalk, in front of some lots."""
    lots = [lot for lot in side.lots if lot.front != "none"]
    if not lots:
        return
    n = len(lots)
    x = side.sign * side.walk_to
    kinds = np.array([FRONTS.index(lot.front) for lot in lots])  # 0 wall, 1 fence, 2 hedge
    heights = np.choose(kinds, [rng.uniform(0.6, 2.6, n), rng.uniform(0.9, 2.2, n), rng.uniform(0.8, 1.9, n)])
    face = side_face(canvas, x, lots[0].z0, lots[-1].z1, 0, float(heights.max()) + 0.3)
    if face is None:
        return
    z, y = face.a, face.b
    lot, along, inside = lot_lookup(lots, z)
    kind, height = kinds[lot], heights[lot]
    below = face.mask & inside & (y <= height)
    shade = canvas.light.side(x)
    if (kinds == 0).any():  # walls: solid, with a coping on top
        colours = WALL_COLOURS[rng.integers(len(WALL_COLOURS), size=n)] * rng.uniform(0.8, 1.2, (n, 1))
        wall = below & (kind == 0)
        paint(canvas, face, wall, colours[lot].T[:, None, :], WALL, shade, texture="rough")
        darken(canvas, face, wall & (y > height - 0.12), rng.uniform(0.7, 1.3))
    if (kinds == 1).any():  # fences: posts, two rails, and slats, mesh or bars in between
        posts = wrap(along, rng.uniform(1.8, 3.0)) < 0.1
        rails = (np.abs(y - height + 0.06) < 0.05) | (np.abs(y - 0.25) < 0.04)
        style, pitch = rng.integers(3), rng.uniform(0.1, 0.22)
        if style == 0:  # slats
            infill = wrap(along, pitch) < pitch * rng.uniform(0.3, 0.6)
        elif style == 1:  # mesh
            infill = (wrap(along + y, pitch) < 0.02) | (wrap(along - y, pitch) < 0.02)
        else:  # bars
            infill = wrap(along, pitch) < 0.025
        fence = below & (kind == 1) & (posts | rails | infill)
        paint(canvas, face, fence, pick(rng, FENCE_COLOURS), FENCE, shade, texture="rough")
    if (kinds == 2).any():  # hedges: a ragged top
        top = height + 0.2 * np.sin(z * 2.0) + 0.1 * canvas.grain[face.rows, face.cols]
        hedge = face.mask & inside & (kind == 2) & (y <= top)
        paint(canvas, face, hedge, pick(rng, FOLIAGE_COLOURS), VEGETATION, 0.85, texture="leafy")


def draw_end_wall(canvas: Canvas, rng: np.random.Generator, side: Side, lot: Lot) -> None:
    """The near end wall of a building, visible when the lot before it is open."""
    inner = side.facade
    outer = inner + rng.uniform(8, 20)
    x0, x1 = sorted((side.sign * inner, side.sign * outer))
    face = front_face(canvas, lot.z0, x0, x1, 0, lot.height)
    if face is not None:  # (side walls mostly have no windows)
        paint(canvas, face, face.mask, pick(rng, FACADE_COLOURS), BUILDING, canvas.light.front * 0.85, texture="fine")


def draw_roadside(canvas: Canvas, rng: np.random.Generator, side: Side) -> None:
    """One side of the street, farthest surfaces first: the end walls of buildings that follow
    an open lot, the buildings behind the parks, the parks' trees, the facades along the
    street, then the walls, fences and hedges in front of them."""
    previous = "park"
    for lot in side.lots:
        if lot.kind == "building" and previous != "building":
            draw_end_wall(canvas, rng, side, lot)
        previous = lot.kind
    parks = [lot for lot in side.lots if lot.kind == "park"]
    if parks:
        setback = side.facade + rng.uniform(3, 15)
        behind = [lot for lot in parks if rng.random() < 0.4]
        if behind:
            x = side.sign * (setback + rng.uniform(5, 25))
            draw_facades(canvas, rng, x, behind, rng.uniform(10, 30, len(behind)))
        draw_tree_line(canvas, rng, side.sign * setback, parks)
    buildings = [lot for lot in side.lots if lot.kind == "building"]
    if buildings:
        draw_facades(canvas, rng, side.sign * side.facade, buildings, [lot.height for lot in buildings])
    draw_lot_fronts(canvas, rng, side)


# ----------------------------------------------------------------------------------------------
# Vehicles: boxes seen from behind or in front, with a side face when off-centre
# ----------------------------------------------------------------------------------------------


def draw_box(
    canvas: Canvas,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    z0: float,
    z1: float,
    rgb: np.ndarray,
    label: int,
    texture: str = "fine",
) -> tuple[Face | None, Face | None, Face | None]:
    """The visible faces of an axis-aligned box: (side, top, front), each None when unseen.

    We see the side that faces the camera (none when the box straddles X = 0), the top when
    it is below the eye, and always the front (the face at ``z0``).
    """
    light, cam = canvas.light, canvas.camera
    # A face that projects to less than half a pixel across is skipped (it would cover no
    # pixel centre, or a stray one); 1 m across the box's depth spans ``spread`` pixels.
    spread = cam.focal * (1 / max(z0, NEAR) - 1 / z1)
    side = None
    if x1 < 0 and -x1 * spread >= 0.5:
        side = side_face(canvas, x1, z0, z1, y0, y1)
    elif x0 > 0 and x0 * spread >= 0.5:
        side = side_face(canvas, x0, z0, z1, y0, y1)
    if side is not None:
        gradient = 1.0 - 0.15 * (side.b - y0) / max(y1 - y0, 1e-3)
        paint(canvas, side, side.mask, rgb, label, light.side(x1 if x1 < 0 else x0) * gradient, texture=texture)
    top = flat_face(canvas, y1, x0, x1, z0, z1) if (cam.eye - y1) * spread >= 0.5 else None
    if top is not None:
        paint(canvas, top, top.mask, rgb, label, light.top, texture=texture)
    front = front_face(canvas, z0, x0, x1, y0, y1)
    if front is not None:
        paint(canvas, front, front.mask, rgb, label, light.front, texture=texture)
    return side, top, front


def draw_side_wheels(canvas: Canvas, x: float, zs: list[float], radius: float, label: int) -> None:
    """Wheels on the side plane ``X = x``: dark tyres around lighter rims, labelled as the vehicle."""
    face = side_face(canvas, x, min(zs) - radius, max(zs) + radius, 0, 2 * radius)
    if face is None:
        return
    distance = None  # (squared) distance to the nearest wheel centre, in radii
    for zc in zs:
        d = ((face.a - zc) / radius) ** 2 + ((face.b - radius) / radius) ** 2
        distance = d if distance is None else np.minimum(distance, d)
    rim = np.where(distance < 0.3, np.float32(4.0 * canvas.light.side(x)), np.float32(1.0))  # rims 4x brighter
    tyres = face.mask & (distance <= 1.0)
    paint(canvas, face, tyres, np.array([28, 28, 30], np.float32), label, rim, texture="rough")


def draw_under_wheels(canvas: Canvas, x0: float, x1: float, z: float, top: float, label: int) -> None:
    """The tyres seen under the back (or front) of a vehicle."""
    face = front_face(canvas, z, x0, x1, 0, top)
    if face is None:
        return
    width = min(0.3, (x1 - x0) * 0.2)
    tyres = face.mask & ((face.a <= x0 + width) | (face.a >= x1 - width))
    paint(canvas, face, tyres, np.array([26, 26, 28], np.float32), label, 1.0, texture="rough")


def cast_shadow(canvas: Canvas, x0: float, x1: float, z0: float, z1: float, strength: float = 0.4) -> None:
    """Darken the road and sidewalk under a vehicle (labels untouched)."""
    face = flat_face(canvas, 0.0, x0, x1, z0, z1)
    if face is not None:
        darken(canvas, face, face.mask, strength, only=(ROAD, SIDEWALK))


def draw_lights(
    canvas: Canvas, face: Face | None, x0: float, x1: float, y: float, oncoming: bool, rng: np.random.Generator
) -> None:
    """Lamps at both ends of a vehicle's front face, a number plate and a bumper in the middle."""
    if face is None:
        return
    a, b = face.a, face.b
    lamp_rgb = np.array([235, 235, 215] if oncoming else [200, 30, 30], np.float32)
    lamps = face.mask & (np.abs(b - y) < 0.08) & ((a <= x0 + 0.28) | (a >= x1 - 0.28))
    paint(canvas, face, lamps, lamp_rgb, None, rng.uniform(0.7, 1.1))
    mid = (x0 + x1) / 2
    plate = face.mask & box(a, b, mid - 0.26, mid + 0.26, y - 0.35, y - 0.23)
    paint(canvas, face, plate, np.array([225, 225, 215], np.float32), None, canvas.light.front)
    bumper = face.mask & (b < y - 0.38)
    darken(canvas, face, bumper, 0.7)


def draw_glass(canvas: Canvas, face: Face | None, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Vehicle windows: dark glass with a vertical reflection gradient (labels unchanged)."""
    if face is not None:
        shade = 0.7 + 0.5 * wrap(face.b, 1.0)  # a reflection gradient
        paint(canvas, face, mask, pick(rng, GLASS_COLOURS, 0.3), None, shade, texture="fine")


def draw_car(canvas: Canvas, rng: np.random.Generator, x0: float, z0: float, oncoming: bool) -> None:
    """A car (sometimes a van) at lateral ``x0..x0+width``, its near end at depth ``z0``.

    Three levels of detail: a far car is a box; a mid-distance one a body and a cabin with
    glass and wheels; a near one also casts a shadow and shows lamps, plate and tyres.
    """
    van = rng.random() < 0.12
    width, length = rng.uniform(1.65, 1.95), rng.uniform(3.8, 4.9) + (0.5 if van else 0.0)
    height = rng.uniform(1.85, 2.1) if van else rng.uniform(1.35, 1.62)
    clearance = rng.uniform(0.14, 0.22)
    belt = height * (rng.uniform(0.45, 0.55) if van else rng.uniform(0.56, 0.66))
    x1, z1 = x0 + width, z0 + length
    colour = pick(rng, VEHICLE_COLOURS, 0.2)
    inset = rng.uniform(0.08, 0.16)
    size = canvas.camera.pixels(height, z0)
    if size < 24:  # far away: a box with a band of glass is all the pixels can show
        side, _, front = draw_box(canvas, x0, x1, clearance, height, z0, z1, colour, CAR)
        for face in (side, front):
            if face is not None:
                darken(canvas, face, face.mask & (face.b > belt + 0.05) & (face.b < height - 0.1), 0.45)
        return
    near = size >= 40
    if near:
        cast_shadow(canvas, x0 - 0.1, x1 + 0.1, z0 - 0.1, z1 + 0.1, rng.uniform(0.3, 0.5))
        draw_under_wheels(canvas, x0 + 0.1, x1 - 0.1, z0 + 0.7, clearance + 0.05, CAR)
    side, _, front = draw_box(canvas, x0, x1, clearance, belt, z0, z1, colour, CAR)
    if side is not None:
        draw_side_wheels(canvas, x1 if x1 < 0 else x0, [z0 + 0.8, z1 - 0.8], rng.uniform(0.29, 0.34), CAR)
    if near:
        draw_lights(canvas, front, x0, x1, belt - 0.12, oncoming, rng)

    if van:
        cz0, cz1 = z0 + (0.9 if oncoming else 0.05), z1 - (0.05 if oncoming else 0.9)
    elif oncoming:
        cz0, cz1 = z0 + length * rng.uniform(0.27, 0.36), z1 - length * rng.uniform(0.12, 0.25)
    else:
        cz0, cz1 = z0 + length * rng.uniform(0.1, 0.28), z1 - length * rng.uniform(0.27, 0.36)
    cx0, cx1 = x0 + inset, x1 - inset
    cside, _, cfront = draw_box(canvas, cx0, cx1, belt, height, cz0, cz1, colour, CAR)
    if cside is not None:
        middle = (cz0 + cz1) / 2
        glass = cside.mask & (cside.b > belt + 0.07) & (cside.b < height - 0.07)
        glass &= (cside.a > cz0 + 0.15) & (cside.a < cz1 - 0.15) & (np.abs(cside.a - middle) > 0.06)
        draw_glass(canvas, cside, glass, rng)
    if cfront is not None:
        glass = cfront.mask & box(cfront.a, cfront.b, cx0 + 0.07, cx1 - 0.07, belt + 0.06, height - 0.07)
        draw_glass(canvas, cfront, glass, rng)


def draw_truck(canvas: Canvas, rng: np.random.Generator, x0: float, z0: float, oncoming: bool) -> None:
    """A lorry: a cab and a tall cargo box on a dark chassis."""
    width = rng.uniform(2.3, 2.55)
    cargo_len, cab_len = rng.uniform(4.5, 9.0), rng.uniform(1.8, 2.4)
    cargo_h, cab_h = rng.uniform(3.0, 3.9), rng.uniform(2.6, 3.1)
    x1 = x0 + width
    if oncoming:
        cab = (z0, z0 + cab_len)
        cargo = (cab[1] + 0.3, cab[1] + 0.3 + cargo_len)
    else:
        cargo = (z0, z0 + cargo_len)
        cab = (cargo[1] + 0.3, cargo[1] + 0.3 + cab_len)
    z1 = max(cab[1], cargo[1])
    cargo_rgb = pick(rng, VEHICLE_COLOURS if rng.random() < 0.5 else WALL_COLOURS, 0.15)
    cab_rgb = pick(rng, VEHICLE_COLOURS, 0.15)
    side_x = x1 if x1 < 0 else x0
    if canvas.camera.pixels(cargo_h, z0) < 12:  # far away: just the two boxes
        parts = sorted([(cab, cab_h, cab_rgb), (cargo, cargo_h, cargo_rgb)], key=lambda part: -part[0][0])
        for (pz0, pz1), height, rgb in parts:  # the farther part first
            draw_box(canvas, x0, x1, 0.5, height, pz0, pz1, rgb, TRUCK)
        return

    near = canvas.camera.pixels(cargo_h, z0) >= 40
    if near:
        cast_shadow(canvas, x0 - 0.1, x1 + 0.1, z0 - 0.1, z1 + 0.2, rng.uniform(0.3, 0.5))
        draw_under_wheels(canvas, x0 + 0.1, x1 - 0.1, z0 + 0.9, 0.9, TRUCK)
    draw_box(canvas, x0 + 0.3, x1 - 0.3, 0.45, 1.0, z0 + 0.3, z1, np.array([40, 40, 42], np.float32), TRUCK)
    parts = [(cab, cab_h, cab_rgb, 0.7), (cargo, cargo_h, cargo_rgb, 1.0)]
    parts.sort(key=lambda part: -part[0][0])  # the farther part first
    for (pz0, pz1), height, rgb, bottom in parts:
        side, _, front = draw_box(canvas, x0, x1, bottom, height, pz0, pz1, rgb, TRUCK)
        if (pz0, pz1) == cab:
            if front is not None and oncoming:
                glass = front.mask & box(front.a, front.b, x0 + 0.12, x1 - 0.12, height - 1.1, height - 0.15)
                draw_glass(canvas, front, glass, rng)
            if side is not None:
                near_end = pz0 if oncoming else pz1
                glass = side.mask & (side.b > height - 1.1) & (side.b < height - 0.2)
                glass &= np.abs(side.a - near_end) < 0.9
                draw_glass(canvas, side, glass, rng)
        elif front is not None and not oncoming:
            seam = front.mask & (np.abs(front.a - (x0 + x1) / 2) < 0.02)
            darken(canvas, front, seam, 0.5)
        if near and pz0 == z0 and front is not None:  # the near part carries the lights
            draw_lights(canvas, front, x0, x1, bottom + 0.35, oncoming, rng)
    if x1 < 0 or x0 > 0:
        draw_side_wheels(canvas, side_x, [z0 + 1.2, z1 - 1.4, z1 - 2.5], 0.5, TRUCK)


def draw_bus(canvas: Canvas, rng: np.random.Generator, x0: float, z0: float, oncoming: bool) -> None:
    """A city bus: one long box with a band of windows and a destination sign."""
    width, length, height = rng.uniform(2.45, 2.6), rng.uniform(11, 14), rng.uniform(2.95, 3.25)
    x1, z1 = x0 + width, z0 + length
    colour = pick(rng, BUS_COLOURS, 0.15)
    if canvas.camera.pixels(height, z0) < 12:  # far away: just the box
        draw_box(canvas, x0, x1, 0.3, height, z0, z1, colour, BUS)
        return
    cast_shadow(canvas, x0 - 0.1, x1 + 0.1, z0 - 0.1, z1 + 0.2, rng.uniform(0.3, 0.5))
    draw_under_wheels(canvas, x0 + 0.1, x1 - 0.1, z0 + 2.0, 0.4, BUS)
    side, _, front = draw_box(canvas, x0, x1, 0.3, height, z0, z1, colour, BUS)
    if side is not None:
        pitch = rng.uniform(1.3, 1.8)
        band = side.mask & (side.b > 1.15) & (side.b < height - 0.45) & (wrap(side.a - z0, pitch) > 0.15)
        draw_glass(canvas, side, band & (side.a > z0 + 0.3) & (side.a < z1 - 0.3), rng)
        side_x = x1 if x1 < 0 else x0
        draw_side_wheels(canvas, side_x, [z0 + 2.6, z1 - 3.0], 0.5, BUS)
    if front is not None:
        low = 1.0 if oncoming else 1.7
        glass = front.mask & box(front.a, front.b, x0 + 0.1, x1 - 0.1, low, height - 0.45)
        draw_glass(canvas, front, glass, rng)
        sign = front.mask & box(front.a, front.b, x0 + 0.3, x1 - 0.3, height - 0.4, height - 0.12)
        paint(canvas, front, sign, np.array([230, 150, 30], np.float32), None, 0.9, texture="rough")
        draw_lights(canvas, front, x0, x1, 0.8, oncoming, rng)


def draw_tram(canvas: Canvas, rng: np.random.Generator, xc: float, z0: float) -> None:
    """A tram (labelled train): a very long box with a pantograph, on rails in the road."""
    width, length, height = rng.uniform(2.3, 2.65), rng.uniform(24, 36), rng.uniform(3.2, 3.5)
    x0, x1, z1 = xc - width / 2, xc + width / 2, z0 + length
    colour = pick(rng, BUS_COLOURS, 0.15)
    rails = flat_face(canvas, 0.0, xc - 0.8, xc + 0.8, NEAR, 300)
    if rails is not None:
        lines = rails.mask & (np.abs(np.abs(rails.a - xc) - 0.72) < 0.04)
        darken(canvas, rails, lines, 0.6, only=(ROAD,))
    # The pantograph stands on the roof a third of the way back: a frame of thin bars.
    pz = z0 + length * 0.3
    face = front_face(canvas, pz, xc - 0.9, xc + 0.9, height, height + 1.4)
    if face is not None:
        arms = segment(face.a, face.b, (xc - 0.6, height), (xc, height + 1.2), 0.06)
        arms |= segment(face.a, face.b, (xc + 0.6, height), (xc, height + 1.2), 0.06)
        arms |= segment(face.a, face.b, (xc - 0.8, height + 1.25), (xc + 0.8, height + 1.25), 0.06)
        paint(canvas, face, face.mask & arms, np.array([50, 50, 52], np.float32), TRAIN)
    side, _, front = draw_box(canvas, x0, x1, 0.2, height, z0, z1, colour, TRAIN)
    if side is not None:
        band = side.mask & (side.b > 1.1) & (side.b < height - 0.5) & (wrap(side.a - z0, 1.6) > 0.2)
        draw_glass(canvas, side, band, rng)
        stripe = side.mask & (np.abs(side.b - 0.7) < 0.15)
        paint(canvas, side, stripe, pick(rng, BUS_COLOURS), None, canvas.light.side(x0), texture="fine")
    if front is not None:
        glass = front.mask & box(front.a, front.b, x0 + 0.15, x1 - 0.15, 1.2, height - 0.3)
        draw_glass(canvas, front, glass, rng)
        draw_lights(canvas, front, x0, x1, 0.8, True, rng)


# ----------------------------------------------------------------------------------------------
# People, two-wheelers, street furniture and trees: shapes on front planes
# ----------------------------------------------------------------------------------------------


def draw_person(canvas: Canvas, rng: np.random.Generator, xc: float, z: float, height: float) -> None:
    """A pedestrian seen from the front or back: legs, coat or shirt, arms, head."""
    face = front_face(canvas, z, xc - 0.24 * height, xc + 0.24 * height, 0, height)
    if face is None:
        return
    u, v = (face.a - xc) / height, face.b / height  # body coordinates, in body heights
    light = canvas.light.front
    trousers, shirt, skin = any_colour(rng), any_colour(rng), pick(rng, SKIN_COLOURS, 0.1)
    size = canvas.camera.pixels(height, z)
    if size < 18:  # far away: a silhouette in two colours
        paint(canvas, face, face.mask & (np.abs(u) < 0.1) & (v < 0.48), trousers, PERSON, light)
        upper = ((np.abs(u) < 0.13) & (v >= 0.48) & (v < 0.82)) | ellipse(u, v, 0.0, 0.905, 0.065, 0.085)
        paint(canvas, face, face.mask & upper, shirt, PERSON, light)
        return
    spread = rng.uniform(0.0, 0.08)
    legs = segment(u, v, (-0.055, 0.48), (-0.06 - spread, 0.03), 0.08)
    legs |= segment(u, v, (0.055, 0.48), (0.06 + spread, 0.03), 0.08)
    paint(canvas, face, face.mask & legs, trousers, PERSON, light, texture="rough")
    coat = rng.random() < 0.3
    hem = rng.uniform(0.25, 0.4) if coat else 0.46
    torso = (v >= hem) & (v <= 0.8) & (np.abs(u) <= 0.1 + 0.03 * (v - hem) / (0.8 - hem))
    torso |= segment(u, v, (-0.1, 0.78), (0.1, 0.78), 0.07)
    swing = rng.uniform(-0.04, 0.04, 2)
    arms = segment(u, v, (-0.125, 0.78), (-0.15 + swing[0], 0.46), 0.055)
    arms |= segment(u, v, (0.125, 0.78), (0.15 + swing[1], 0.46), 0.055)
    paint(canvas, face, face.mask & (torso | arms), shirt, PERSON, light, texture="rough")
    head = ellipse(u, v, 0.0, 0.905, 0.062, 0.08) | box(u, v, -0.025, 0.025, 0.8, 0.84)
    if size >= 40:  # near: hands, shoes, hair and sometimes a bag
        head |= ellipse(u, v, -0.15 + swing[0], 0.45, 0.025, 0.03) | ellipse(u, v, 0.15 + swing[1], 0.45, 0.025, 0.03)
    paint(canvas, face, face.mask & head, skin, PERSON, light, texture="fine")
    if size >= 40:
        darken(canvas, face, face.mask & legs & (v < 0.04), 0.3)  # shoes
        hair = face.mask & ellipse(u, v, 0.0, 0.92, 0.066, 0.08) & (v > rng.uniform(0.86, 0.94))
        darken(canvas, face, hair, rng.uniform(0.15, 0.6))
        if rng.random() < 0.3:  # a bag
            bx = rng.choice([-1, 1]) * 0.17
            bag = face.mask & box(u, v, bx - 0.05, bx + 0.05, 0.4, 0.58)
            paint(canvas, face, bag, any_colour(rng), PERSON, light, texture="fine")


def draw_rider_rear(canvas: Canvas, rng: np.random.Generator, xc: float, z: float, motor: bool) -> None:
    """A cyclist or motorcyclist seen from behind (or the front): the rider's legs on both
    sides of a thin wheel, torso, helmet; handlebar behind."""
    vehicle = MOTORCYCLE if motor else BICYCLE
    face = front_face(canvas, z, xc - 0.6, xc + 0.6, 0, 1.85)
    if face is None:
        return
    a, b = face.a - xc, face.b
    light = canvas.light.front
    frame_rgb = pick(rng, VEHICLE_COLOURS if motor else FENCE_COLOURS, 0.2)
    bar_y = 1.05 if motor else 1.0
    handlebar = segment(a, b, (-0.33, bar_y), (0.33, bar_y), 0.035)
    if motor:
        handlebar |= ellipse(a, b, -0.36, bar_y + 0.12, 0.06, 0.05) | ellipse(a, b, 0.36, bar_y + 0.12, 0.06, 0.05)
    paint(canvas, face, face.mask & handlebar, np.array([35, 35, 38], np.float32), vehicle, light)
    # The rider.
    clothes, trousers = any_colour(rng), any_colour(rng)
    lean = 0.1 if motor else 0.0
    shoulders = 0.23 if motor else 0.2
    torso = (b >= 0.95) & (b <= 1.45 - lean) & (np.abs(a) <= shoulders - 0.05 * (1.45 - b))
    arms = segment(a, b, (-shoulders, 1.4 - lean), (-0.31, bar_y + 0.02), 0.07)
    arms |= segment(a, b, (shoulders, 1.4 - lean), (0.31, bar_y + 0.02), 0.07)
    paint(canvas, face, face.mask & (torso | arms), clothes, RIDER, light, texture="rough")
    # Thighs out to the knees, shins down to the feet: on the footpegs of a motorcycle, on the
    # pedals of a bicycle (one up, one down).
    pedal = rng.uniform(0.25, 0.5)
    feet = [(-0.27, 0.42), (0.27, 0.42)] if motor else [(-0.12, pedal), (0.12, 0.75 - pedal)]
    legs = np.zeros(face.mask.shape, dtype=bool)
    for (foot_x, foot_y), hip_x in zip(feet, (-0.1, 0.1)):
        knee = (foot_x + np.sign(foot_x) * 0.03, 0.7)
        legs |= segment(a, b, (hip_x, 0.98), knee, 0.11) | segment(a, b, knee, (foot_x, foot_y), 0.09)
    paint(canvas, face, face.mask & legs, trousers, RIDER, light, texture="rough")
    helmet = motor or rng.random() < 0.6
    head = ellipse(a, b, 0.0, 1.6 - lean, 0.12 if motor else 0.1, 0.13 if motor else 0.11)
    head_rgb = any_colour(rng) if helmet else pick(rng, SKIN_COLOURS)
    paint(canvas, face, face.mask & head, head_rgb, RIDER, light, texture="fine")
    # The vehicle's near end: a thin wheel (a wide one and a body for a motorcycle).
    if motor:
        body = face.mask & ellipse(a, b, 0.0, 0.75, 0.24, 0.3)
        paint(canvas, face, body, frame_rgb, vehicle, light, texture="fine")
        tail = face.mask & box(a, b, -0.08, 0.08, 0.92, 1.0)
        paint(canvas, face, tail, np.array([200, 30, 30], np.float32), None, light)
        wheel = box(a, b, -0.08, 0.08, 0.0, 0.6)
    else:
        wheel = box(a, b, -0.022, 0.022, 0.0, 0.68) | box(a, b, -0.07, 0.07, 0.88, 0.95)
    paint(canvas, face, face.mask & wheel, np.array([30, 30, 32], np.float32), vehicle, light, texture="rough")


def draw_two_wheeler_side(
    canvas: Canvas, rng: np.random.Generator, xc: float, z: float, motor: bool, ridden: bool
) -> None:
    """A bicycle or motorcycle seen from the side (crossing the street, or parked), with or
    without its rider."""
    vehicle = MOTORCYCLE if motor else BICYCLE
    d = float(rng.choice([-1, 1]))  # which way it faces
    face = front_face(canvas, z, xc - 1.15, xc + 1.15, 0, 1.9 if ridden else 1.3)
    if face is None:
        return
    a, b = (face.a - xc) * d, face.b  # a grows towards the front wheel
    light = canvas.light.front
    dark = np.array([30, 30, 32], np.float32)
    frame_rgb = pick(rng, VEHICLE_COLOURS if motor else FENCE_COLOURS, 0.25)
    if motor:
        r, wb = 0.31, 0.7
        wheels = ellipse(a, b, -wb, r, r, r) | ellipse(a, b, wb, r, r, r)
        body = ellipse(a, b, 0.0, 0.62, 0.55, 0.22) | segment(a, b, (wb, r), (0.5, 0.95), 0.07)
        body |= segment(a, b, (-0.2, 0.85), (-0.6, 0.85), 0.1)  # the seat
        paint(canvas, face, face.mask & body, frame_rgb, vehicle, light, texture="fine")
        paint(canvas, face, face.mask & wheels, dark, vehicle, light, texture="rough")
        hubs = ellipse(a, b, -wb, r, r * 0.55, r * 0.55) | ellipse(a, b, wb, r, r * 0.55, r * 0.55)
        paint(canvas, face, face.mask & hubs, np.array([110, 110, 115], np.float32), None, light)
        bar, hips, foot = (0.45, 1.05), (-0.3, 0.95), (-0.05, 0.42)
    else:
        r, wb = 0.34, 0.52
        dist_back = np.sqrt((a + wb) ** 2 + (b - r) ** 2)
        dist_front = np.sqrt((a - wb) ** 2 + (b - r) ** 2)
        wheels = ((dist_back <= r) & (dist_back >= r - 0.05)) | ((dist_front <= r) & (dist_front >= r - 0.05))
        hub, crank, seat, head = (-wb, r), (-0.05, 0.3), (-0.2, 0.85), (0.38, 0.85)
        frame = segment(a, b, hub, crank, 0.035) | segment(a, b, crank, seat, 0.035) | segment(a, b, seat, hub, 0.03)
        frame |= segment(a, b, seat, head, 0.035) | segment(a, b, crank, head, 0.04)
        frame |= segment(a, b, head, (wb, r), 0.035) | segment(a, b, head, (0.32, 1.0), 0.03)
        frame |= segment(a, b, (-0.28, 0.9), (-0.12, 0.9), 0.05)
        paint(canvas, face, face.mask & wheels, dark, vehicle, light, texture="rough")
        paint(canvas, face, face.mask & frame, frame_rgb, vehicle, light, texture="fine")
        bar, hips, foot = (0.32, 1.0), (-0.2, 0.95), crank
    if not ridden:
        return
    clothes, trousers = any_colour(rng), any_colour(rng)
    shoulders = (hips[0] + 0.3, hips[1] + 0.5)
    knee = (hips[0] + 0.35, 0.72)
    legs = segment(a, b, hips, knee, 0.13) | segment(a, b, knee, foot, 0.1)
    paint(canvas, face, face.mask & legs, trousers, RIDER, light, texture="rough")
    body = segment(a, b, hips, shoulders, 0.26) | segment(a, b, shoulders, bar, 0.07)
    paint(canvas, face, face.mask & body, clothes, RIDER, light, texture="rough")
    head = ellipse(a, b, shoulders[0] + 0.06, shoulders[1] + 0.17, 0.1, 0.11)
    head_rgb = any_colour(rng) if motor else pick(rng, SKIN_COLOURS)  # a helmet, or bare-headed
    paint(canvas, face, face.mask & head, head_rgb, RIDER, light, texture="fine")


def draw_sign(canvas: Canvas, rng: np.random.Generator, xc: float, yc: float, z: float) -> None:
    """A traffic sign plate: a disc, triangle, square or diamond, or the grey back of one."""
    size = rng.uniform(0.3, 0.5)
    face = front_face(canvas, z, xc - size, xc + size, yc - size, yc + size)
    if face is None:
        return
    a, b = face.a - xc, face.b - yc
    shape = int(rng.random() * 4)
    if shape == 0:
        plate = a * a + b * b <= size * size
        inner = a * a + b * b <= (size * 0.75) ** 2
    elif shape == 1:  # a triangle, point up
        plate = (b >= -size * 0.8) & (np.abs(a) * 1.6 <= size * 0.9 - b * 0.9 + size * 0.25)
        inner = (b >= -size * 0.55) & (np.abs(a) * 1.6 <= size * 0.55 - b * 0.9 + size * 0.1)
    elif shape == 2:
        plate = (np.abs(a) <= size * 0.8) & (np.abs(b) <= size * (0.5 if rng.random() < 0.5 else 0.8))
        inner = (np.abs(a) <= size * 0.68) & (np.abs(b) <= size * 0.38)
    else:
        plate = np.abs(a) + np.abs(b) <= size
        inner = np.abs(a) + np.abs(b) <= size * 0.75
    light = canvas.light.front
    if rng.random() < 0.25:  # we see its back
        paint(canvas, face, face.mask & plate, pick(rng, POLE_COLOURS, 0.2), TRAFFIC_SIGN, light, texture="fine")
        return
    rim, fill = pick(rng, SIGN_COLOURS, 0.1), pick(rng, SIGN_COLOURS, 0.1)
    paint(canvas, face, face.mask & plate, rim, TRAFFIC_SIGN, light, texture="fine")
    paint(canvas, face, face.mask & inner, fill, None, light, texture="fine")


def draw_traffic_light(canvas: Canvas, rng: np.random.Generator, xc: float, top: float, z: float) -> None:
    """A traffic light housing with three lamps (one lit), or its back."""
    w, h = rng.uniform(0.28, 0.36), rng.uniform(0.8, 1.0)
    face = front_face(canvas, z, xc - w / 2, xc + w / 2, top - h, top)
    if face is None:
        return
    light = canvas.light.front
    housing = pick(rng, SIGNAL_HOUSINGS, 0.2)
    paint(canvas, face, face.mask, housing, TRAFFIC_LIGHT, light, texture="fine")
    if rng.random() < 0.25:
        return  # seen from the back
    a, b = face.a - xc, face.b - (top - h)
    lit = int(rng.random() * 3)  # red, amber or green, top to bottom
    lamps = [face.mask & ellipse(a, b, 0.0, h * (5 - 2 * i) / 6, w * 0.32, w * 0.32) for i in range(3)]
    paint(canvas, face, lamps[lit], SIGNAL_LAMPS[lit], None, 1.0)
    darken(canvas, face, lamps[lit - 1] | lamps[lit - 2], 0.5)  # the two dark ones


def draw_pole(canvas: Canvas, rng: np.random.Generator, xc: float, z: float, kind: str, toward_road: int) -> None:
    """A pole and what it carries: a lamp on an arm, signs, or traffic lights."""
    light = canvas.light.front
    colour = pick(rng, POLE_COLOURS, 0.2)
    if kind == "lamp":
        height, width = rng.uniform(6, 9.5), rng.uniform(0.12, 0.22)
    elif kind == "light":
        height, width = rng.uniform(2.8, 4.2), rng.uniform(0.1, 0.16)
    elif kind == "mast":
        height, width = rng.uniform(5.5, 7), rng.uniform(0.18, 0.28)
    else:
        height, width = rng.uniform(2.4, 3.6), rng.uniform(0.06, 0.1)
    face = front_face(canvas, z, xc - width / 2, xc + width / 2, 0, height)
    if face is not None:
        roundness = 1.1 - 0.6 * np.abs(face.a - xc) / (width / 2)  # a cylinder's shading
        paint(canvas, face, face.mask, colour, POLE, light * roundness, texture="rough")
    if kind == "lamp":
        reach = rng.uniform(1.0, 2.5) * toward_road
        x0, x1 = sorted((xc, xc + reach * 1.2))
        arm_face = front_face(canvas, z, x0 - 0.4, x1 + 0.4, height - 0.3, height + 0.5)
        if arm_face is not None:
            arm = segment(arm_face.a, arm_face.b, (xc, height - 0.2), (xc + reach, height + 0.3), 0.08)
            head = box(arm_face.a, arm_face.b, xc + reach - 0.35, xc + reach + 0.35, height + 0.18, height + 0.38)
            paint(canvas, arm_face, arm_face.mask & (arm | head), colour, POLE, light, texture="fine")
    elif kind == "sign":
        y = height - rng.uniform(0.3, 0.5)
        for _ in range(1 + int(rng.random() < 0.4)):
            draw_sign(canvas, rng, xc, y, z - 0.05)
            y -= rng.uniform(0.75, 0.95)
    elif kind == "light":
        draw_traffic_light(canvas, rng, xc, height + 0.3, z - 0.1)
        if rng.random() < 0.4:
            draw_sign(canvas, rng, xc, height - 1.3, z - 0.05)
    elif kind == "mast":  # an arm over the road with lights hanging from it
        reach = rng.uniform(3.5, 7.0) * toward_road
        x0, x1 = sorted((xc, xc + reach))
        arm_face = front_face(canvas, z, x0, x1, height - 0.3, height)
        if arm_face is not None:
            paint(canvas, arm_face, arm_face.mask & (arm_face.b > height - 0.18), colour, POLE, light, texture="fine")
        for k in range(1 + int(rng.random() < 0.6)):
            draw_traffic_light(canvas, rng, xc + reach * (0.55 + 0.4 * k), height - 0.15, z - 0.1)
        draw_traffic_light(canvas, rng, xc + 0.25 * toward_road, 3.3, z - 0.1)


def draw_tree(canvas: Canvas, rng: np.random.Generator, xc: float, z: float) -> None:
    """A street tree: a trunk and a crown of overlapping leafy blobs (all vegetation)."""
    radius = rng.uniform(1.5, 3.5)
    trunk_h = rng.uniform(2.0, 3.5)
    centre = trunk_h + radius * 0.8
    trunk_w = rng.uniform(0.18, 0.4)
    trunk = front_face(canvas, z, xc - trunk_w / 2, xc + trunk_w / 2, 0, centre)
    if trunk is not None:
        bark = vary(rng, np.array([80, 64, 50], np.float32), 0.3)
        paint(canvas, trunk, trunk.mask, bark, VEGETATION, canvas.light.front, texture="rough")
    face = front_face(canvas, z, xc - 1.7 * radius, xc + 1.7 * radius, centre - 1.5 * radius, centre + 1.6 * radius)
    if face is None:
        return
    a, b = face.a, face.b
    distance = None  # (squared) distance to the nearest blob centre, in blob radii
    for _ in range(3 + int(rng.random() < 0.5)):
        ca = xc + rng.uniform(-0.6, 0.6) * radius
        cb = centre + rng.uniform(-0.35, 0.45) * radius
        r = rng.uniform(0.55, 0.85) * radius
        d = ((a - ca) / r) ** 2 + ((b - cb) / r) ** 2
        distance = d if distance is None else np.minimum(distance, d)
    grain = canvas.grain[face.rows, face.cols]
    crown = face.mask & (distance <= 1.0 + 0.35 * grain) & ~((distance > 0.5) & (grain > 1.4))  # ragged, with holes
    shade = np.clip(0.7 + 0.4 * (b - centre + radius) / (2 * radius), 0.6, 1.15) * canvas.light.front * 1.1
    paint(canvas, face, crown, pick(rng, FOLIAGE_COLOURS, 0.25), VEGETATION, shade, texture="leafy")


def draw_bin(canvas: Canvas, rng: np.random.Generator, xc: float, z: float) -> None:
    """A litter bin, a box or a bench: street clutter Cityscapes labels "static" (void)."""
    width, height = rng.uniform(0.4, 1.6), rng.uniform(0.5, 1.1)
    face = front_face(canvas, z, xc - width / 2, xc + width / 2, 0, height)
    if face is not None:
        paint(canvas, face, face.mask, any_colour(rng), STATIC, canvas.light.front, texture="rough")


# ----------------------------------------------------------------------------------------------
# Placing things on the street
# ----------------------------------------------------------------------------------------------

#: (depth of the nearest point, how to draw it); drawn in order of decreasing depth.
Thing = tuple[float, Callable[[Canvas, np.random.Generator], None]]


def _positions(rng: np.random.Generator, start: float, stop: float, gap: tuple[float, float]) -> list[float]:
    """Depths from ``start`` to ``stop`` with random gaps."""
    out, z = [], start
    while z < stop:
        out.append(z)
        z += rng.uniform(*gap)
    return out


def place_vehicles(rng: np.random.Generator, street: Street) -> list[Thing]:
    """Parked cars along the kerbs, traffic in the lanes, now and then a tram."""
    things: list[Thing] = []
    for side in (street.left, street.right):
        if not side.parking:
            continue
        z = rng.uniform(-2, 6)
        occupancy = rng.uniform(0.25, 0.7)
        while z < 70:
            length = 5.0
            if rng.random() < occupancy:
                kind = draw_truck if rng.random() < 0.02 else draw_car
                length = 9.0 if kind is draw_truck else 4.9
                width = 2.5 if kind is draw_truck else 1.8
                inner = side.road_edge - rng.uniform(0.15, 0.4)
                x0 = -inner if side.sign < 0 else inner - width
                things.append((max(z, NEAR), partial(kind, x0=x0, z0=z, oncoming=bool(rng.random() < 0.5))))
            z += length + rng.uniform(0.4, 4.0)
    for lane in range(street.lanes):
        xc = street.lane_centre(lane)
        oncoming = lane < street.oncoming
        z = rng.uniform(6, 30) if abs(xc) < 0.5 else rng.uniform(0, 25)
        while z < 100:
            if rng.random() < 0.3:
                roll = rng.random()
                if roll < 0.91:
                    kind, width, length = draw_car, 1.8, 4.9
                elif roll < 0.95:
                    kind, width, length = draw_truck, 2.5, 12.0
                else:
                    kind, width, length = draw_bus, 2.5, 14.0
                x0 = xc - width / 2 + rng.uniform(-0.3, 0.3)
                things.append((z, partial(kind, x0=x0, z0=z, oncoming=oncoming)))
                z += length
            z += rng.uniform(3, 30)
    if rng.random() < 0.04:  # a tram
        lane, z = int(rng.random() * street.lanes), rng.uniform(10, 50)
        things.append((z, partial(draw_tram, xc=street.lane_centre(lane), z0=z)))
    return things


def place_people(rng: np.random.Generator, street: Street) -> list[Thing]:
    """Pedestrians on both sidewalks (sometimes crowds, sometimes nobody), a few crossing."""
    things: list[Thing] = []
    crowd = rng.choice([0.5, 1.5, 3.0, 6.0])
    for side in (street.left, street.right):
        for _ in range(int(rng.poisson(crowd))):
            z = 4.0 + rng.exponential(16.0)
            for _ in range(1 + int(rng.poisson(0.4))):  # alone or in a small group
                d = rng.uniform(side.walk_from + 0.3, max(side.walk_to - 0.3, side.walk_from + 0.4))
                height = rng.uniform(1.55, 1.95) if rng.random() < 0.9 else rng.uniform(1.0, 1.4)
                zz = z + rng.uniform(-0.8, 0.8)
                things.append((zz, partial(draw_person, xc=side.sign * d, z=zz, height=height)))
    if rng.random() < 0.15:
        z = rng.uniform(8, 30)
        for _ in range(int(rng.integers(1, 4))):
            x = rng.uniform(-street.left.road_edge, street.right.road_edge)
            things.append((z, partial(draw_person, xc=x, z=z + rng.uniform(0, 1), height=rng.uniform(1.55, 1.9))))
    return things


def place_two_wheelers(rng: np.random.Generator, street: Street) -> list[Thing]:
    """Rare: cyclists and motorcyclists on the road, parked bicycles and motorcycles."""
    things: list[Thing] = []
    if rng.random() < 0.35:
        for _ in range(1 + int(rng.random() < 0.4)):
            motor = bool(rng.random() < 0.3)
            z = rng.uniform(5, 40)
            if rng.random() < 0.25:  # crossing
                x = rng.uniform(-street.left.road_edge, street.right.road_edge)
                things.append((z, partial(draw_two_wheeler_side, xc=x, z=z, motor=motor, ridden=True)))
            else:
                side = street.left if rng.random() < 0.3 else street.right
                x = side.sign * (side.road_edge - side.parking - rng.uniform(0.5, 1.3))
                things.append((z, partial(draw_rider_rear, xc=x, z=z, motor=motor)))
    if rng.random() < 0.35:  # a row of parked bicycles (or motorcycles)
        side = street.left if rng.random() < 0.5 else street.right
        z = rng.uniform(4, 30)
        motor = bool(rng.random() < 0.25)
        for _ in range(1 + int(rng.random() * 6)):
            x = side.sign * (side.walk_from + rng.uniform(0.3, 1.0))
            things.append((z, partial(draw_two_wheeler_side, xc=x, z=z, motor=motor, ridden=False)))
            z += rng.uniform(0.6, 1.2)
    return things


def place_street_furniture(rng: np.random.Generator, street: Street) -> list[Thing]:
    """Poles with lamps, signs and traffic lights along the kerbs, trees, and some clutter."""
    things: list[Thing] = []
    crossing = rng.uniform(15, 60) if rng.random() < 0.5 else None
    for side in (street.left, street.right):
        kerb_line = side.road_edge + side.kerb + (side.verge / 2 if side.verge else rng.uniform(0.3, 0.7))
        spacing = rng.uniform(11, 28)
        for z in _positions(rng, rng.uniform(2, spacing), 75, (spacing * 0.7, spacing * 1.3)):
            kind = ("lamp", "sign", "light", "plain")[int(np.searchsorted((0.4, 0.8, 0.93), rng.random()))]
            things.append((z, partial(draw_pole, xc=side.sign * kerb_line, z=z, kind=kind, toward_road=-side.sign)))
        if crossing is not None:
            kind = "mast" if rng.random() < 0.5 else "light"
            pole = partial(draw_pole, xc=side.sign * kerb_line, z=crossing, kind=kind, toward_road=-side.sign)
            things.append((crossing, pole))
        if rng.random() < 0.65:
            tree_line = min(kerb_line + rng.uniform(0.5, 1.2), side.walk_to - 0.3)
            gap = rng.uniform(7, 15)
            for z in _positions(rng, rng.uniform(0, gap), 60, (gap * 0.8, gap * 1.2)):
                things.append((z + 0.3, partial(draw_tree, xc=side.sign * tree_line, z=z + 0.3)))
        if rng.random() < 0.3:
            for _ in range(int(rng.integers(1, 4))):
                z = rng.uniform(4, 50)
                x = side.sign * rng.uniform(side.walk_from + 0.3, side.walk_to - 0.2)
                things.append((z, partial(draw_bin, xc=x, z=z)))
    return things


# ----------------------------------------------------------------------------------------------
# The camera's image pipeline and the scene
# ----------------------------------------------------------------------------------------------


def draw_ego_vehicle(canvas: Canvas, rng: np.random.Generator) -> None:
    """The bonnet of our own car along the bottom edge (Cityscapes' "ego vehicle", void)."""
    cam = canvas.camera
    rise = cam.height * rng.uniform(0.05, 0.12)
    top = cam.height - rise * 0.55
    px, py = canvas.x, canvas.y
    edge = top - rise * 0.45 * (1 - ((px - cam.width / 2) / (cam.width * 0.6)) ** 2)  # a dome
    bonnet = py >= edge
    shade = 1.0 - 0.5 * np.sqrt(np.clip((py - edge) / rise, 0, 1))  # the sky's reflection fades downwards
    colour = pick(rng, VEHICLE_COLOURS, 0.2) * 0.6
    whole = Face(slice(0, cam.height), slice(0, cam.width), bonnet, px, py, 0.0)
    paint(canvas, whole, bonnet, colour, EGO_VEHICLE, shade, texture="fine")


def develop(canvas: Canvas, rng: np.random.Generator) -> np.ndarray:
    """From the scene's radiance to an 8-bit photo: exposure, colour cast, vignetting, noise."""
    cam = canvas.camera
    exposure = rng.uniform(0.6, 1.25)
    cast = rng.normal(1.0, 0.06, 3).astype(np.float32)
    px = canvas.x / cam.width - 0.5
    py = canvas.y / cam.height - 0.5
    vignette = 1.0 - rng.uniform(0.1, 0.5) * (px * px + py * py)  # (H, W)
    image = canvas.image
    for channel in range(3):
        image[channel] *= vignette * (exposure * cast[channel])
    # Sensor noise, cheaply: one random byte per pixel holds two uniform 4-bit numbers, the
    # noise of the red and the green value; blue gets their sum (a triangular distribution).
    # Tables scale each to the noise level sigma, and add the 0.5 that makes the truncation to
    # uint8 below a rounding.
    sigma = rng.uniform(2.0, 8.0)
    raw = np.frombuffer(rng.bytes(image[0].size), dtype=np.uint8).reshape(image[0].shape)
    low, high = raw & 15, raw >> 4
    uniform = (np.arange(16, dtype=np.float32) - 7.5) * np.float32(sigma / 4.61) + 0.5  # std 4.61 -> sigma
    triangular = (np.arange(31, dtype=np.float32) - 15.0) * np.float32(sigma / 6.52) + 0.5  # std 6.52
    noise = canvas.scratch[0]
    for channel, (table, index) in enumerate([(uniform, low), (uniform, high), (triangular, low + high)]):
        image[channel] += np.take(table, index, out=noise, mode="clip")
    np.clip(image, 0, 255, out=image)
    return np.ascontiguousarray(image.astype(np.uint8).transpose(1, 2, 0))  # (H, W, 3)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) as ints, or a ValueError naming the bad size."""
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    if height < MIN_SIZE or width < MIN_SIZE or (height, width) != tuple(size):
        raise ValueError(
            f"size {tuple(size)!r} is too small or not integral: MiniCity needs at least {MIN_SIZE}x{MIN_SIZE}"
        )
    return height, width


def render_scene(rng: np.random.Generator, size: tuple[int, int] = (512, 1024)) -> tuple[np.ndarray, np.ndarray]:
    """Draw one scene. Returns (image uint8 (H, W, 3) RGB, label_ids uint8 (H, W)) with
    Cityscapes *labelIds* (not train ids).

    Everything about the scene comes from ``rng``: the same generator state gives the same
    scene. Objects scale with the image (the camera's focal length is proportional to its
    width), and every drawing step has its own child generator, so that the detail a size can
    afford (far objects are drawn simpler) never changes the rest: a seed gives the same street
    at every size.
    """
    height, width = _check_size(size)
    plan, noise, backdrop, detail, photo = rng.spawn(5)
    camera = random_camera(plan, height, width)
    light = random_light(plan)
    street = plan_street(plan)
    things = place_vehicles(plan, street) + place_people(plan, street)
    things += place_two_wheelers(plan, street) + place_street_furniture(plan, street)
    with_bonnet = plan.random() < 0.35
    canvas = new_canvas(noise, camera, light)

    sky, ground, end, left, right = backdrop.spawn(5)
    draw_sky(canvas, sky)
    draw_ground(canvas, ground, street)
    draw_street_end(canvas, end, street)
    draw_roadside(canvas, left, street.left)
    draw_roadside(canvas, right, street.right)
    things.sort(key=lambda thing: -thing[0])  # painter's algorithm: far to near
    for (_, draw), thing_rng in zip(things, detail.spawn(len(things))):
        draw(canvas, thing_rng)
    if with_bonnet:
        draw_ego_vehicle(canvas, photo)
    return develop(canvas, photo), canvas.label.copy()  # the canvas's buffers serve the next scene


# ----------------------------------------------------------------------------------------------
# Writing the dataset
# ----------------------------------------------------------------------------------------------


def sample_name(split: str, index: int) -> tuple[str, str]:
    """(city, file stem) of image ``index`` of ``split``, e.g. ("aachenia", "aachenia_000003_000019")."""
    cities = CITIES[split]
    city = cities[index % len(cities)]
    return city, f"{city}_{index:06d}_{FRAME:06d}"


def sample_paths(root: Path, split: str, index: int) -> tuple[Path, Path, Path]:
    """(image, labelIds, labelTrainIds) paths of image ``index`` of ``split`` under ``root``."""
    city, stem = sample_name(split, index)
    image = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
    gt = root / "gtFine" / split / city
    return image, gt / f"{stem}_gtFine_labelIds.png", gt / f"{stem}_gtFine_labelTrainIds.png"


def _save_png(array: np.ndarray, path: Path) -> None:
    """Write a PNG fast: zlib level 1 with the run-length strategy, which only looks for
    repeats of the previous byte. A photo's noisy low bits defeat longer string matching
    anyway, and label maps are long runs of one value: both come out smaller and faster than
    with the default strategy."""
    Image.fromarray(array).save(path, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)


def write_sample(root: Path, split: str, index: int, size: tuple[int, int], seed: int) -> None:
    """Render image ``index`` of ``split`` (its own random stream) and write its three PNGs."""
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    image, label_ids = render_scene(rng, size)
    image_path, ids_path, train_path = sample_paths(root, split, index)
    image_path.parent.mkdir(parents=True, exist_ok=True)
    ids_path.parent.mkdir(parents=True, exist_ok=True)
    _save_png(image, image_path)
    _save_png(label_ids, ids_path)
    _save_png(label_ids_to_train_ids(label_ids), train_path)


def _check_count(name: str, value: int) -> int:
    """A number of images: a non-negative int, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _is_complete(root: Path, meta: dict) -> bool:
    """Whether the MiniCity described by ``meta`` was fully written under ``root``."""
    if not meta.get("complete"):
        return False
    for split in SPLITS:
        n = meta.get(split, 0)
        if n and not all(p.is_file() for p in sample_paths(root, split, n - 1)):
            return False
        if len(list((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png"))) != n:
            return False
    return True


def generate_minicity(
    out: str | Path,
    train: int = 40,
    val: int = 10,
    size: tuple[int, int] = (512, 1024),
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write the dataset under ``out`` and return ``out`` as a Path.

    ``out`` may be missing or empty. If it already holds a MiniCity made with the same arguments,
    nothing is rewritten (unless ``overwrite``); a MiniCity made with other arguments is replaced
    only with ``overwrite=True`` (an interrupted, incomplete one is simply redone); a folder
    holding anything else is never touched (FileExistsError). Bad arguments raise ValueError.

    Image ``i`` of a split depends only on (seed, split, i), through
    ``np.random.default_rng([seed, split_index, i])``: the first images of a larger city are
    those of a smaller one, byte for byte. Train images alternate between the train cities.
    
    """
    out = Path(out)
    height, width = _check_size(size)
    train, val = _check_count("train", train), _check_count("val", val)
    if train + val == 0:
        raise ValueError(f"train + val must be positive, got train={train}, val={val}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    meta = {
        "name": "MiniCity",
        "version": VERSION,
        "seed": int(seed),
        "size": [height, width],
        "train": train,
        "val": val,
        "cities": {split: list(CITIES[split]) for split in SPLITS},
        "frame": FRAME,
    }

    meta_path = out / META_FILE
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder; MiniCity needs a folder")
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise FileExistsError(f"{out} holds an unreadable {META_FILE}; not writing MiniCity there") from None
        if not isinstance(old, dict) or old.get("name") != "MiniCity":
            raise FileExistsError(f"{out} holds a {META_FILE} that is not MiniCity's; not writing there")
        same = {k: v for k, v in old.items() if k != "complete"} == meta
        if same and not overwrite and _is_complete(out, old):
            return out
        if not same and not overwrite and old.get("complete"):
            raise FileExistsError(
                f"{out} holds a MiniCity made with other arguments (seed {old.get('seed')}, size "
                f"{old.get('size')}, train {old.get('train')}, val {old.get('val')}); "
                "pass overwrite=True to replace it"
            )
        for sub in ("leftImg8bit", "gtFine"):
            shutil.rmtree(out / sub, ignore_errors=True)
        meta_path.unlink()
    elif out.is_dir() and any(out.iterdir()):
        raise FileExistsError(
            f"{out} is not empty and holds no MiniCity ({META_FILE} is missing); "
            "choose another folder or empty it"
        )

    out.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps({**meta, "complete": False}, indent=2) + "\n")
    for split, count in (("train", train), ("val", val)):
        for index in range(count):
            write_sample(out, split, index, (height, width), int(seed))
    meta_path.write_text(json.dumps({**meta, "complete": True}, indent=2) + "\n")
    return out


# ----------------------------------------------------------------------------------------------
# Looking at it
# ----------------------------------------------------------------------------------------------


def class_frequency_table(root: str | Path, split: str = "train") -> pd.DataFrame:
    """Pixel frequency per train class (the 19 Cityscapes train classes), from the written
    ``*_gtFine_labelTrainIds.png`` files.

    Columns: class, train_id, pixels, fraction (of labelled, i.e. non-255, pixels), images
    (number of images where the class occurs); sorted by train_id.
    """
    folder = Path(root) / "gtFine" / split
    files = sorted(folder.glob("*/*_gtFine_labelTrainIds.png"))
    if not files:
        raise FileNotFoundError(f"no *_gtFine_labelTrainIds.png files under {folder}")
    n = len(TRAIN_CLASSES)
    pixels = np.zeros(256, dtype=np.int64)
    images = np.zeros(n, dtype=np.int64)
    for path in files:
        counts = np.bincount(np.asarray(Image.open(path)).ravel(), minlength=256)
        pixels += counts
        images += counts[:n] > 0
    labelled = pixels[:n].sum()
    return pd.DataFrame(
        {
            "class": list(TRAIN_CLASSES),
            "train_id": np.arange(n),
            "pixels": pixels[:n],
            "fraction": pixels[:n] / max(labelled, 1),
            "images": images,
        }
    )


def sample_grid(root: str | Path, split: str = "train", n: int = 4, alpha: float = 0.5) -> Figure:
    """A grid of ``n`` samples (fewer if the split has fewer): image, coloured label
    (Cityscapes palette: each label's ``color``), and the label over the image."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    folder = Path(root) / "leftImg8bit" / split
    # the first n images by sequence number (files are named <city>_<seq>_<frame>_leftImg8bit.png)
    images = sorted(folder.glob("*/*_leftImg8bit.png"), key=lambda p: (p.name.split("_")[-3], p.name))[:n]
    if not images:
        raise FileNotFoundError(f"no *_leftImg8bit.png files under {folder}")
    rows = len(images)
    first = np.asarray(Image.open(images[0]))
    aspect = first.shape[0] / first.shape[1]
    fig = Figure(figsize=(12, rows * 4 * aspect + 0.4), layout="constrained")
    axes = fig.subplots(rows, 3, squeeze=False)
    for row, image_path in enumerate(images):
        city = image_path.parent.name
        stem = image_path.name[: -len("_leftImg8bit.png")]
        ids_path = Path(root) / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"
        image = np.asarray(Image.open(image_path).convert("RGB"))
        colour = COLOUR_LUT[np.asarray(Image.open(ids_path))]
        overlay = ((1 - alpha) * image + alpha * colour).astype(np.uint8)
        for ax, picture, title in zip(axes[row], (image, colour, overlay), ("image", "labels", "overlay")):
            ax.imshow(picture, interpolation="nearest")
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
        axes[row][0].text(0, -2, stem, fontsize=7, va="bottom")
    return fig
