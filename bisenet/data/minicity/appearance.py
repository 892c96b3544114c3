"""How MiniCity looks: noise, colours, surface textures and the camera's image pipeline.

``smooth_noise`` and ``grain_noise`` make the scene's noise fields; the ``*_COLOURS`` palettes
overlap between classes so that colour alone never gives a class away, and ``vary``, ``pick``
and ``any_colour`` draw colours from them; :data:`TEXTURES` are the brightness patterns a
surface may carry; :func:`develop` turns a drawn canvas into an 8-bit photo (exposure, colour
cast, vignetting, sensor noise).
"""

from __future__ import annotations

import numpy as np

from bisenet.data.minicity.geometry import Canvas

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
    (200, 186, 160),
    (214, 208, 198),
    (142, 140, 138),
    (172, 168, 162),
    (150, 84, 62),
    (188, 158, 112),
    (206, 188, 122),
    (158, 172, 186),
    (96, 90, 84),
    (190, 150, 140),
    (120, 112, 100),
    (225, 220, 210),
)
VEHICLE_COLOURS = _palette(
    (222, 222, 222),
    (172, 174, 178),
    (112, 112, 116),
    (32, 32, 36),
    (30, 42, 84),
    (150, 24, 28),
    (44, 74, 140),
    (42, 82, 54),
    (184, 172, 142),
    (92, 62, 42),
    (70, 72, 76),
    (200, 200, 190),
)
BUS_COLOURS = _palette((226, 196, 40), (222, 222, 222), (170, 30, 30), (40, 90, 170), (50, 130, 70), (180, 180, 184))
WALL_COLOURS = _palette((150, 150, 146), (180, 176, 168), (120, 118, 112), (160, 96, 76), (196, 186, 160), (96, 96, 94))
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


# Surface textures: brightness factors 1 + fine * grain + smooth * mottle, made once per scene.
TEXTURES: dict[str, tuple[float, float]] = {
    "fine": (0.05, 0.1),  # paint, plaster, clothes
    "rough": (0.12, 0.16),  # concrete, asphalt, bark, worn paint
    "leafy": (0.4, 0.25),  # foliage and grass
}


# ----------------------------------------------------------------------------------------------
# The camera's image pipeline
# ----------------------------------------------------------------------------------------------


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
