"""MiniCity: a procedural synthetic street scene dataset in Cityscapes' exact layout.

Cityscapes needs an account and 11 GB, so every chapter, test and command of this project can
also run on MiniCity, a small city drawn by this package and written exactly like Cityscapes::

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

The modules
-----------
* ``labels``: the label ids drawn (``ROAD``, ``SKY``, ...), the train classes and the tables
  that map ids to train ids (:func:`label_ids_to_train_ids`) and to colours (``COLOUR_LUT``);
* ``geometry``: the camera, the light, the canvas, faces on the three kinds of plane, painting
  through them, and the shapes drawn on them;
* ``appearance``: noise, colour palettes, textures, and ``develop`` (the camera's image pipeline);
* ``plan``: the scene plan (random camera and light, the street, its sides and lots);
* ``objects``: the ``draw_*`` functions of things (vehicles, people, two-wheelers, signs, traffic
  lights, poles, trees, bins, our own bonnet);
* ``placement``: where those things go along the street;
* ``scene``: the canvas, the background (sky, ground, facades, roadsides) and :func:`render_scene`;
* ``writer``: the file layout and names, the metadata file and :func:`generate_minicity`;
* ``dataset``: :class:`MiniCity`, the dataset class (the Cityscapes loader on a MiniCity root).

The statistics and pictures of a generated MiniCity (``class_frequency_table``, ``sample_grid``)
are in ``bisenet.book.minicity``, outside the data layer.
"""

from bisenet.data.minicity.dataset import MiniCity
from bisenet.data.minicity.labels import COLOUR_LUT, IGNORE, TRAIN_CLASSES, TRAIN_ID_LUT, label_ids_to_train_ids
from bisenet.data.minicity.scene import MIN_SIZE, render_scene
from bisenet.data.minicity.writer import (
    CITIES,
    FRAME,
    META_FILE,
    SPLITS,
    VERSION,
    generate_minicity,
    sample_name,
    sample_paths,
)

__all__ = [
    "CITIES",
    "COLOUR_LUT",
    "FRAME",
    "IGNORE",
    "META_FILE",
    "MIN_SIZE",
    "MiniCity",
    "SPLITS",
    "TRAIN_CLASSES",
    "TRAIN_ID_LUT",
    "VERSION",
    "generate_minicity",
    "label_ids_to_train_ids",
    "render_scene",
    "sample_name",
    "sample_paths",
]
