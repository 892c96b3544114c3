"""The book's own wing: what only the chapters (and the tools that measure them) use.

Nothing else in the library imports it; the command line's ``book-cache`` command may. Its modules:

* :mod:`~bisenet.book.chapter`: the banner every chapter prints first, and its measured execution
  times;
* :mod:`~bisenet.book.results`: where the committed results live (``book/data``);
* :mod:`~bisenet.book.trained`: the profile's trained models, cached, that the chapters show;
* :mod:`~bisenet.book.diagram` (with ``diagram_v1``, ``diagram_layout`` and ``diagram_shapes``): the architecture
  diagrams, traced from the models;
* :mod:`~bisenet.book.minicity`: MiniCity's class statistics and sample grid (chapter 12);
* :mod:`~bisenet.book.split`: writing a dataset split as a folder dataset, its classes regrouped
  (chapter 19).
"""
