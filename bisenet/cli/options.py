"""What several commands share: the help of their common options, and a folder dataset's options
(declared on a parser, read back from the parsed arguments)."""

from __future__ import annotations

import argparse

from bisenet.cli import arguments as a

DEVICE_HELP = "cpu, cuda or cuda:N (default: this process's GPU when CUDA is available, else cpu)"
CACHE_HELP = "the cache folder (default: $BISENET_CACHE, else ~/.cache/bisenet)"
OVERWRITE_HELP = "replace an existing output file that is not this command's earlier output"


def add_folder_options(p: argparse.ArgumentParser) -> None:
    """The options of a folder dataset (bisenet.data.FolderOptions), shared by check-data, train and eval."""
    p.add_argument(
        "--reduce-zero-label",
        action="store_true",
        help="mask value 0 means 'other' (ignored) and the classes count from 1 (mmseg's convention)",
    )
    p.add_argument(
        "--unknown-colour",
        choices=["error", "ignore"],
        default="error",
        help="colour masks: a colour in no class is an error (default) or read as ignore",
    )
    p.add_argument(
        "--ignore-colour",
        type=a.rgb,
        default=(0, 0, 0),
        help="colour masks: the colour read as ignore, R,G,B (default 0,0,0, unless a class has it)",
    )
    p.add_argument(
        "--img-suffix",
        type=a.suffix,
        help="mmseg's img_dir naming: the images' ending (default any of .png/.jpg/.jpeg)",
    )
    p.add_argument("--seg-suffix", type=a.suffix, default=".png", help="the masks' ending (default .png)")


def folder_options(args: argparse.Namespace):
    """The folder-dataset options of a command's arguments (:func:`add_folder_options`)."""
    from bisenet.data import FolderOptions

    return FolderOptions(
        img_suffix=args.img_suffix,
        seg_suffix=args.seg_suffix,
        reduce_zero_label=args.reduce_zero_label,
        unknown_colour=args.unknown_colour,
        ignore_colour=tuple(args.ignore_colour),
    )
