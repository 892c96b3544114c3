"""The camera, the canvas and the three kinds of surface a MiniCity scene is made of.

:class:`Camera` projects the street's 3-D coordinates to pixels, :class:`Light` says how bright
each orientation of surface is, and :class:`Canvas` holds the image and the labels being drawn.
``side_face``, ``front_face`` and ``flat_face`` turn a rectangle on a side, front or flat plane
into a :class:`Face` (its pixel window, the pixels it covers and its in-plane coordinates there);
:func:`paint` and :func:`darken` draw through a face, and ``ellipse``, ``box``, ``segment`` and
``wrap`` are the shapes and repeating patterns drawn on a face's coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
