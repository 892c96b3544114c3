"""Where the things of a MiniCity street go: parked and moving vehicles, pedestrians,
two-wheelers and street furniture.

Each ``place_*`` function returns a list of :data:`Thing`: the depth of a thing's nearest point
and how to draw it, which ``render_scene`` (``bisenet.data.minicity.scene``) paints far to near.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from bisenet.data.minicity.geometry import NEAR, Canvas
from bisenet.data.minicity.objects import (
    draw_bin,
    draw_bus,
    draw_car,
    draw_person,
    draw_pole,
    draw_rider_rear,
    draw_tram,
    draw_tree,
    draw_truck,
    draw_two_wheeler_side,
)
from bisenet.data.minicity.plan import Street

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
