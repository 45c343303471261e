"""Region masks (issue 24): does each region take its own style, does a soft edge leave a band to neither style,
and does a region's style strength change with its area? Prints one table (Markdown) per question.

    python bench/masks.py --weights model/vgg19.params [--size 256] [--epochs 100] [--content C --styles A B]
                         [--time | --time-only [--repeat 3]] [--out DIR]
                         [--only-area [--area-guides simple inside all] [--positions 3] [--areas 0.1 0.5]]

Without images it uses scikit-image's astronaut and two of its textures. The area table always paints
scikit-image's grass photo (a stationary content: the same inside a small and a large square) with the first
style. ``--time`` adds seconds per epoch and the peak memory of a masked run against an unmasked one, each in its
own process (run it alone on the machine). ``--out`` keeps the pictures.
Distances are relative Frobenius norms ``|G - S| / |S|`` of the result's guided Grams (each region's guide) against
each style's Gram, averaged over the style layers.
"""
import argparse
import dataclasses
import os
import sys
import time
import warnings
from unittest import mock

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nstyle  # noqa: E402
from common import print_machine  # noqa: E402
from nstyle import api  # noqa: E402
from nstyle.algorithm import guides  # noqa: E402
from nstyle.config import Config  # noqa: E402
from nstyle.files import images  # noqa: E402


def samples(size):
    from skimage import data
    from skimage.transform import resize

    pick = [data.astronaut(), np.stack([data.brick()] * 3, -1), np.stack([data.grass()] * 3, -1)]
    return [(resize(p, (size, size)) * 255).astype(np.uint8) for p in pick]


def split_masks(size, ramp=0, fraction=0.5):
    """Left/right masks; ``ramp`` pixels of linear soft edge at ``fraction`` of the width."""
    x = np.arange(size) + 0.5
    edge = fraction * size
    left = np.clip((edge - x) / ramp + 0.5, 0, 1) if ramp else (x < edge).astype(float)
    left = np.tile(left, (size, 1))
    return [left, 1 - left]


def guided_grams(engine, cfg, rgb, mask):
    """Per-layer guided Grams (the run's scale) of a uint8 picture under one mask."""
    size = rgb.shape[:2]
    net = engine.loss_net(cfg, size, regions=1)
    own = guides.picture_guides([mask], size, cfg.style_layer_list, cfg.mask_guide)
    grams = [g.asnumpy() for g in net.gram_targets(images.to_network(images.resize01(rgb, size)), own.arrays())]
    net.release_features()
    return grams


def distance(a, b):
    return float(np.mean([np.linalg.norm(x - y) / np.linalg.norm(y) for x, y in zip(a, b)]))


def run(content, styles, masks, args, blend="share", mask_guide="simple"):
    options = dict(weights=args.weights, max_long_edge=args.size, max_num_epochs=args.epochs, optimizer="lbfgs",
                   init="content", quiet=True, mask_guide=mask_guide)
    plain = guides.picture_guides

    def picture_guides(*a, **k):
        return plain(*a, **dict(k, blend=blend))
    with mock.patch.object(guides, "picture_guides", picture_guides):
        return nstyle.stylize(content, styles, content_masks=masks, **options).image


def region_table(engine, cfg, content, styles, args):
    print("| masks | region | distance to own style | to the other | ratio | mean colour | own style's |")
    print("|---|---|---|---|---|---|---|")
    whole = np.ones(content.shape[:2])
    targets = [guided_grams(engine, cfg, s, whole) for s in styles]
    pictures = {}
    for name, masks in (("hard", split_masks(args.size)), ("soft 64 px", split_masks(args.size, 64 * args.size // 512))):
        out = run(content, styles, masks, args)
        pictures[name] = out
        for r, (mask, own, other) in enumerate(zip(masks, targets, targets[::-1])):
            g = guided_grams(engine, cfg, out, mask)
            colour = (out * mask[..., None]).sum((0, 1)) / mask.sum()
            print(f"| {name} | {'left' if r == 0 else 'right'} | {distance(g, own):.3f} | {distance(g, other):.3f} | "
                  f"{distance(g, own) / distance(g, other):.2f} | {np.round(colour).astype(int).tolist()} | "
                  f"{np.round(styles[r].reshape(-1, 3).mean(0)).astype(int).tolist()} |")
    return targets, pictures


def band_table(engine, cfg, content, styles, targets, args):
    """Across a soft edge, per vertical band: the Gram strength, 1 - (distance to the nearer style / the content's),
    and the colour strength, 1 - |band colour - expected| / |content's band colour - expected|, the expected colour
    being the two styles' mean colours mixed by the masks' shares in the band (1: as styled as the masks ask,
    0: the content's colour). A band left to neither style shows as a dip at the edge."""
    ramp = max(8, 64 * args.size // 512)
    band = max(8, args.size // 16)
    masks = split_masks(args.size, ramp)
    colours = [s.reshape(-1, 3).mean(0) for s in styles]
    print(f"\n| guides | strength | per {band}-px band across the {ramp}-px soft edge (1: fully styled, 0: content) |")
    print("|---|---|---|")
    pictures = {}
    for blend in ("plain", "share"):
        out = run(content, styles, masks, args, blend)
        pictures[blend] = out
        grams, tints = [], []
        for left in range(0, args.size - band + 1, band):
            strip = np.zeros(content.shape[:2])
            strip[:, left:left + band] = 1
            g, c = guided_grams(engine, cfg, out, strip), guided_grams(engine, cfg, content, strip)
            grams.append(1 - min(distance(g, t) / distance(c, t) for t in targets))
            share = [m[:, left:left + band].mean() for m in masks]
            expected = sum(w * col for w, col in zip(share, colours)) / max(sum(share), 1e-9)
            mean = [p[:, left:left + band].reshape(-1, 3).mean(0) for p in (out, content)]
            tints.append(1 - np.linalg.norm(mean[0] - expected) / np.linalg.norm(mean[1] - expected))
        print(f"| {blend} | Gram | {' '.join(f'{s:.2f}' for s in grams)} |")
        print(f"| {blend} | colour | {' '.join(f'{s:.2f}' for s in tints)} |")
    return pictures


def square_mask(size, fraction, offset=0):
    """A square covering ``fraction`` of a ``size`` x ``size`` picture, centred then moved ``offset`` px down and
    right."""
    side = int(round(size * np.sqrt(fraction)))
    mask = np.zeros((size, size))
    top = (size - side) // 2 + offset
    mask[top:top + side, top:top + side] = 1
    return mask


def stationary_content(size):
    """A content whose statistics do not depend on where a region lies: scikit-image's grass photo (grey, as
    three channels), so a 10% and a 50% square hold the same kind of content."""
    from skimage import data
    from skimage.transform import resize

    return (resize(np.stack([data.grass()] * 3, -1), (size, size)) * 255).astype(np.uint8)


#: square positions per area, as offsets of a centred square (px at 256; scaled with --size)
OFFSETS = {0.1: (0, -64, 64), 0.5: (0, -32, 32)}


def area_table(engine, cfg, styles, args):
    """A square region of 10% and of 50% of a stationary content (:func:`stationary_content`; ``--areas``), one
    style, each at up to three positions (``--positions``: the centred one first), optimised with each
    ``--area-guides`` mode: its distance to the style per layer, averaged over the positions, measured with each
    guide mode (``simple``: as resized; ``inside``: only neurons whose receptive
    field lies inside the region, its own texture without the unstyled surroundings a deep neuron near the edge
    sees; ``all``: every neuron whose receptive field touches it). A layer where a guide keeps no neuron: ``nan``."""
    content = stationary_content(args.size)
    layers = cfg.style_layer_list
    print(f"\n| optimised with | measured with | area | distance to its style, per layer ({', '.join(layers)}) "
          "| mean |")
    print("|---|---|---|---|---|")
    target = guided_grams(engine, cfg, styles[0], np.ones(content.shape[:2]))
    pictures = {}
    for mode in args.area_guides:
        found = {}
        for fraction, offsets in ((f, OFFSETS[f]) for f in args.areas):
            runs = []
            for offset in offsets[:args.positions]:
                mask = square_mask(args.size, fraction, offset * args.size // 256)
                out = run(content, styles[:1], [mask], args, mask_guide=mode)
                pictures.setdefault(f"area_{mode}_{fraction:.0%}".replace("%", "pc"), out)
                runs.append((out, mask))
            for name in guides.KINDS:
                found[fraction, name] = area_distances(engine, dataclasses.replace(cfg, mask_guide=name), runs,
                                                       target)
                print(f"| {mode} | {name} | {fraction:.0%} | {' '.join(f'{d:.3f}' for d in found[fraction, name])} "
                      f"| {np.nanmean(found[fraction, name]):.3f} |")
        for name in guides.KINDS if len(args.areas) == 2 else ():
            per = " ".join(f"{abs(x / y - 1):.0%}" if np.isfinite(x / y) else "-"
                           for x, y in zip(found[0.1, name], found[0.5, name]))
            print(f"change of style strength with area (optimised with {mode}, measured with {name}), per layer: "
                  f"{per}")
    return pictures


def area_distances(engine, cfg, runs, target):
    """Per-layer distance of each ``(picture, mask)``'s guided Grams (``cfg.mask_guide``) to ``target``, averaged
    over the runs; ``nan`` where the guide keeps no neuron."""
    with warnings.catch_warnings():  # a layer where a guide keeps no neuron at any position: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean([[np.linalg.norm(x - y) / np.linalg.norm(y) if np.all(np.isfinite(x)) and np.any(x)
                            else np.nan for x, y in zip(guided_grams(engine, cfg, out, mask), target)]
                           for out, mask in runs], axis=0)


def timed_run(content, styles, masks, args, out):
    """One run in a fresh process (its own peak memory): seconds per epoch and peak RSS into ``out``."""
    from common import peak_rss_mb

    start = time.perf_counter()
    result = nstyle.stylize(content, styles, content_masks=masks, weights=args.weights, max_long_edge=args.size,
                            max_num_epochs=args.epochs, quiet=True, stop_eps=0)
    out.put(((time.perf_counter() - start) / result.epochs, peak_rss_mb()))


def timing(content, styles, args):
    """Seconds per epoch (whole run, NAG default) and peak memory, unmasked one style against two masked regions,
    alternating ``--repeat`` times; the ratio of the medians."""
    import multiprocessing
    import statistics

    spawn = multiprocessing.get_context("spawn")
    found = {"unmasked": [], "two regions": []}
    print(f"\n| run | repeat | s/epoch | peak MB |  ({args.epochs} epochs at {args.size} px, each in its own process)")
    print("|---|---|---|---|")
    for k in range(args.repeat):
        for name in (("unmasked", "two regions") if k % 2 == 0 else ("two regions", "unmasked")):
            queue = spawn.Queue()
            masked = name == "two regions"
            child = spawn.Process(target=timed_run, args=(content, styles if masked else styles[:1],
                                                          split_masks(args.size) if masked else None, args, queue))
            child.start()
            spe, peak = queue.get()
            child.join()
            found[name].append((spe, peak))
            print(f"| {name} | {k + 1} | {spe:.3f} | {peak:.0f} |")
    spe = {n: statistics.median(v[0] for v in runs) for n, runs in found.items()}
    peak = {n: statistics.median(v[1] for v in runs) for n, runs in found.items()}
    print(f"\ntwo regions / unmasked: {spe['two regions'] / spe['unmasked']:.2f}x time per epoch, "
          f"{peak['two regions'] / peak['unmasked']:.2f}x peak memory (target: at most 1.3x)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default="model/vgg19.params")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--content")
    p.add_argument("--styles", nargs=2)
    p.add_argument("--time", action="store_true", help="also time masked against unmasked runs (an idle machine)")
    p.add_argument("--time-only", action="store_true", help="only the timing")
    p.add_argument("--repeat", type=int, default=3, help="timing repeats")
    p.add_argument("--only-bands", action="store_true", help="only the soft-edge band table")
    p.add_argument("--only-area", action="store_true", help="only the area table")
    p.add_argument("--area-guides", nargs="+", default=["simple"], choices=guides.KINDS,
                   help="the guide modes the area table optimises with")
    p.add_argument("--areas", nargs="+", type=float, default=[0.1, 0.5], choices=sorted(OFFSETS),
                   help="the square areas of the area table (fractions of the picture)")
    p.add_argument("--positions", type=int, default=3, choices=(1, 2, 3),
                   help="square positions per area in the area table (1: centred only)")
    p.add_argument("--out")
    args = p.parse_args()
    print_machine()
    content, *styles = samples(args.size)
    if args.content:
        content = images.resize01(images.read_image(args.content), (args.size, args.size))
        content = (content * 255).astype(np.uint8)
    if args.styles:
        styles = [(images.resize01(images.read_image(s), (args.size, args.size)) * 255).astype(np.uint8)
                  for s in args.styles]
    if args.time_only:
        return timing(content, styles, args)
    engine, cfg = api.Engine(), Config(weights=args.weights, content_mask=["x", "y"])
    if args.only_area:
        return save(area_table(engine, cfg, styles, args), args.out)
    if args.only_bands:
        whole = np.ones(content.shape[:2])
        targets = [guided_grams(engine, cfg, s, whole) for s in styles]
        return band_table(engine, cfg, content, styles, targets, args)
    targets, pictures = region_table(engine, cfg, content, styles, args)
    pictures.update(band_table(engine, cfg, content, styles, targets, args))
    pictures.update(area_table(engine, cfg, styles, args))
    if args.time:
        timing(content, styles, args)
    save(pictures, args.out)


def save(pictures, out):
    """The pictures by name as PNGs in ``out`` (nothing without ``--out``)."""
    if out:
        os.makedirs(out, exist_ok=True)
        for name, picture in pictures.items():
            images.save_image(picture, os.path.join(out, name.replace(" ", "_") + ".png"))


if __name__ == "__main__":
    main()
