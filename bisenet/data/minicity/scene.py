"""A whole MiniCity scene: the canvas, the background (sky, ground, the end of the street, the
roadsides), and :func:`render_scene`, which plans a scene, places the things in it and draws
everything back to front.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from bisenet.data.minicity.appearance import (
    FACADE_COLOURS,
    FENCE_COLOURS,
    FOLIAGE_COLOURS,
    GLASS_COLOURS,
    GRASS_COLOURS,
    PAVEMENT_COLOURS,
    ROAD_COLOURS,
    TEXTURES,
    WALL_COLOURS,
    develop,
    grain_noise,
    pick,
    smooth_noise,
    vary,
)
from bisenet.data.minicity.geometry import Camera, Canvas, Face, Light, darken, front_face, paint, side_face, wrap
from bisenet.data.minicity.labels import BUILDING, FENCE, ROAD, SIDEWALK, SKY, TERRAIN, VEGETATION, WALL
from bisenet.data.minicity.objects import draw_ego_vehicle
from bisenet.data.minicity.placement import place_people, place_street_furniture, place_two_wheelers, place_vehicles
from bisenet.data.minicity.plan import FRONTS, Lot, Side, Street, plan_street, random_camera, random_light
from bisenet.errors import UsageError

MAX_SIZE = (2048, 4096)  # (H, W): a 2048x4096 scene already needs several GB of buffers
MIN_SIZE = 64


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
# The scene
# ----------------------------------------------------------------------------------------------


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) as ints, or a ValueError naming the bad size."""
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UsageError(f"size must be (height, width), got {size!r}") from None
    if height < MIN_SIZE or width < MIN_SIZE or (height, width) != tuple(size):
        raise UsageError(
            f"size {tuple(size)!r} is too small or not integral: MiniCity needs at least {MIN_SIZE}x{MIN_SIZE}"
        )
    if height > MAX_SIZE[0] or width > MAX_SIZE[1]:
        raise UsageError(
            f"size {height}x{width} is larger than MiniCity renders ({MAX_SIZE[0]}x{MAX_SIZE[1]}, twice Cityscapes' "
            "1024x2048 on each side): its buffers would need more memory than a workstation has"
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
