"""The things in a MiniCity street, each drawn by a ``draw_*`` function.

Vehicles (car, truck, bus, tram, and the bonnet of our own car) are boxes seen from behind or
in front, with a side face when off-centre, plus wheels, lights, glass and cast shadows; people,
riders, two-wheelers, signs, traffic lights, poles, trees and bins are shapes on front planes.
Each takes the canvas and its own random generator, then where (and what) to draw, and paints
the image and the labels together.
"""

from __future__ import annotations

import numpy as np

from bisenet.data.minicity.appearance import (
    BUS_COLOURS,
    FENCE_COLOURS,
    FOLIAGE_COLOURS,
    GLASS_COLOURS,
    POLE_COLOURS,
    SIGN_COLOURS,
    SIGNAL_HOUSINGS,
    SIGNAL_LAMPS,
    SKIN_COLOURS,
    VEHICLE_COLOURS,
    WALL_COLOURS,
    any_colour,
    pick,
    vary,
)
from bisenet.data.minicity.geometry import (
    NEAR,
    Canvas,
    Face,
    box,
    darken,
    ellipse,
    flat_face,
    front_face,
    paint,
    segment,
    side_face,
    wrap,
)
from bisenet.data.minicity.labels import (
    BICYCLE,
    BUS,
    CAR,
    EGO_VEHICLE,
    MOTORCYCLE,
    PERSON,
    POLE,
    RIDER,
    ROAD,
    SIDEWALK,
    STATIC,
    TRAFFIC_LIGHT,
    TRAFFIC_SIGN,
    TRAIN,
    TRUCK,
    VEGETATION,
)

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
