"""The plan of a MiniCity scene, made before any pixel is drawn: camera, light, street, lots.

:func:`random_camera` and :func:`random_light` pick the camera and the illumination;
:func:`plan_street` lays out the lanes and both sides of the street (:class:`Street`,
:class:`Side`), with the buildings and parks along each side (:class:`Lot`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bisenet.data.minicity.appearance import vary
from bisenet.data.minicity.geometry import Camera, Light

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
