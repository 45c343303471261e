"""Video: Lai et al.'s temporal consistency error, losses, seconds and memory per method, on a clip with known motion.

    python bench/video.py [--frames 48] [--size 320x240] [--epochs 10] [--strip strip.jpg] [--no-time]
    python bench/video.py --gammas 1000,300 --smoothing 2 --reference-epochs 30 ...   (a sweep: more rows)
    python bench/video.py --frames 41 --temporal-frames 1,10,20,40 --long-range 10 ... (long-term terms)
    python bench/video.py --per-frame ...   (also each row's losses frame by frame against the baseline's)
    python bench/video.py --time-only --frames 8 --size 320x240 --epochs 10         (seconds and memory only)

The clip is made from the classic photo (``shared/data/IMG_4343.jpg``): a camera that pans right, tilts a little
and zooms in by 25% over the clip (a window moved and shrunk across the photo, resampled bicubically), with a solid
red disc crossing from left to right in front of it (an occluder: it hides and uncovers the scene). Its frames are
PNG files, so no codec noise enters the input.

Every stylization uses the same settings: synthetic VGG19 weights (seed 0), Starry Night, L-BFGS, ``--epochs``
epochs at most, working size = the clip's size. Rows:

- input (floor): the clip itself under its own flow (what the flow cannot explain: interpolation, occluder edges).
- independent, from noise / from the content: ``--temporal-weight 0`` with ``--init noise`` / ``content``.
- warped init only: each frame started from the previous result warped onto it, temporal weight 1e-9 (a term
  about 1e-12 of the other losses: the warped start without the loss).
- warped init + temporal loss: ``nstyle video``'s default (``--temporal-weight``
  :data:`nstyle.video.plan.TEMPORAL_WEIGHT`, the warp :data:`nstyle.video.warping.WARP_INTERPOLATION`; Ruder's
  bilinear warp at γ = 100, the earlier default: ``--warp-interpolation bilinear --gammas 100``).
- the same without the later frames' epoch floor (:data:`nstyle.video.run.LATER_FRAME_SHARE` set to 0 here): the
  classic stopping rule alone, to show what the floor does.
- on request: other temporal weights (``--gammas``), the loss's reliability map smoothed
  (``--smoothing``, :data:`nstyle.video.reliability.SMOOTHING`), a start blended with the frame
  (``--warped-shares``, :data:`nstyle.video.run.WARPED_SHARE`), long-term terms (``--temporal-frames``, the
  earlier frames the loss holds each frame to), independent frames with more epochs
  (``--reference-epochs``: closer to converged, the fair reference for the warped rows, which continue the previous
  frame's optimisation), other warp kernels (``--interpolations``; ``--warp-interpolation`` sets the kernel of
  every warped row), the temporal loss on the blurred difference only (``--low-pass``,
  :data:`nstyle.video.temporal.LOW_PASS`), Ruder's multi-pass algorithm (``--passes``: N passes sharing each
  frame's epochs, ``N:EPOCHS`` for another total).

E is Lai et al. 2018's warping error (:mod:`nstyle.video.consistency`), flows and reliability from the input
clip, outputs on 0..1; "vs indep." is E over the independent-from-content row's. ``--forward-error`` adds the
same error the other way round (frame ``t-1`` warped onto frame ``t``: E is the direction a backward pass's
temporal loss holds, this one a forward pass's). ``--long-range J`` adds the same error against frame ``t-J``
(what the long-term terms are for: a region an occluder hid and uncovered again should look as it did before).
Style and content are the mean per-frame weighted losses, with their change against independent-from-content frames. Then (unless ``--no-time``;
``--time-only`` runs only this part: one temporal run of the clip, then the still) the seconds per frame of the
temporal run split into flow (DIS both ways), stylization and encoding (H.264), against one still of frame 1 with
the same settings, and this process's peak memory. The error and the losses do not depend on the machine's load;
the seconds do: time on an idle machine.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CONTENT, ROOT, STYLE, peak_rss_mb, print_machine, synthetic_weights, table  # noqa: E402

sys.path.insert(0, ROOT)

from nstyle import api, stylize_video  # noqa: E402
from nstyle.config import Config  # noqa: E402
from nstyle.files import images  # noqa: E402
from nstyle.video import consistency, flow, reliability, temporal, warping, writing  # noqa: E402
from nstyle.video import run as video_run  # noqa: E402
from nstyle.video.plan import TEMPORAL_WEIGHT  # noqa: E402

#: (row name, init, temporal weight, module constants set for the row, ``stylize_video`` options of the row such as
#: another ``max_num_epochs`` or ``temporal_frames``); init None: the input.
ROWS = [("input (floor)", None, None, {}, {}), ("independent, from noise", "noise", 0.0, {}, {}),
        ("independent, from content", "content", 0.0, {}, {}), ("warped init only", "content", 1e-9, {}, {}),
        ("warped init + temporal loss", "content", TEMPORAL_WEIGHT, {}, {}),
        ("warped init + temporal loss, no epoch floor", "content", TEMPORAL_WEIGHT,
         {(video_run, "LATER_FRAME_SHARE"): 0.0}, {})]
BASELINE = "independent, from content"
REVERSE = "E fwd (x1e-3)"
TEMPORAL = "warped init + temporal loss"


def camera(t: float, photo: Tuple[int, int], aspect: float) -> Tuple[float, float, float, float]:
    """The window of the photo the camera sees at time ``t`` in 0..1: pan right by 20% of the photo's width, tilt
    down 5% of its height, zoom in by 25%."""
    width, height = photo
    base = min(0.7 * width, 0.7 * height * aspect)
    w = base / (1.0 + 0.25 * t)
    h = w / aspect
    cx, cy = width * (0.4 + 0.2 * t), height * (0.475 + 0.05 * t)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def make_clip(photo_path: str, count: int, size: Tuple[int, int], folder: str) -> List[str]:
    """Write the clip's ``count`` frames (``size`` = width, height) as PNG files into ``folder``; their paths."""
    from PIL import Image, ImageDraw

    photo = Image.open(photo_path).convert("RGB")
    width, height = size
    paths = []
    for i in range(count):
        t = i / max(count - 1, 1)
        frame = photo.transform(size, Image.EXTENT, camera(t, photo.size, width / height), Image.BICUBIC)
        r = height / 6.0
        x, y = -r + t * (width + 2 * r), 0.6 * height
        ImageDraw.Draw(frame).ellipse((x - r, y - r, x + r, y + r), fill=(200, 30, 30))
        paths.append(os.path.join(folder, f"{i + 1:05d}.png"))
        frame.save(paths[-1])
    return paths


def read01(paths: Sequence[str]) -> List[np.ndarray]:
    """The frames at ``paths`` as ``HxWx3`` float64 on 0..1."""
    return [images.read_image(p) / 255.0 for p in paths]


def stylize(clip: str, weights: str, a, init: str, gamma: float, work: str, knobs: Optional[Dict] = None,
            options: Optional[Dict] = None) -> Dict[str, object]:
    """One row: stylize the clip (``knobs``: ``{(module, name): value}`` constants set for this row only;
    ``options``: ``stylize_video`` options that differ, e.g. another ``max_num_epochs``), return its frames' paths
    and per-frame reports."""
    settings = {"max_num_epochs": a.epochs, "warp_interpolation": a.warp_interpolation, **(options or {})}
    kept = {key: getattr(*key) for key in (knobs or {})}
    for (module, name), value in (knobs or {}).items():
        setattr(module, name, value)
    try:
        result = stylize_video(clip, a.style, output=os.path.join(work, "out.mp4"), output_dir=work, weights=weights,
                               max_long_edge=max(a.size), optimizer="lbfgs", init=init, temporal_weight=gamma,
                               gpu=-1, quiet=True, **settings)
    finally:
        for (module, name), value in kept.items():
            setattr(module, name, value)
    return {"frames": sorted(glob.glob(os.path.join(work, "frames", "*.png"))), "reports": result.reports}


def sweep_rows(a) -> List[Tuple[str, str, float, Dict, Dict]]:
    """The rows ``--gammas``, ``--smoothing``, ``--warped-shares``, ``--temporal-frames`` and ``--reference-epochs``
    add: other temporal weights, the loss's reliability map smoothed (at ``--smoothing-gamma``), a start blended
    with the frame, long-term terms, independent frames run longer."""
    rows = [(f"warped init + temporal loss, γ={g:g}", "content", g, {}, {}) for g in a.gammas]
    rows += [(f"warped init + temporal loss, γ={a.smoothing_gamma:g}, c smoothed σ={s:g}", "content",
              a.smoothing_gamma, {(reliability, "SMOOTHING"): s}, {}) for s in a.smoothing]
    rows += [(f"warped share {w:g} of the start + temporal loss", "content", TEMPORAL_WEIGHT,
              {(video_run, "WARPED_SHARE"): w}, {}) for w in a.warped_shares]
    rows += [(f"warped init + temporal loss, frames {f}", "content", TEMPORAL_WEIGHT, {}, {"temporal_frames": f})
             for f in a.temporal_frames]
    rows += [(f"warped init + temporal loss, {k} warp", "content", TEMPORAL_WEIGHT, {}, {"warp_interpolation": k})
             for k in a.interpolations]
    rows += [(f"warped init + temporal loss, γ={g:g}, low-pass σ={s:g}", "content", g,
              {(temporal, "LOW_PASS"): s}, {}) for s in a.low_pass for g in (a.low_pass_gammas or [TEMPORAL_WEIGHT])]
    rows += [(f"independent, from content, {n} epochs", "content", 0.0, {}, {"max_num_epochs": n})
             for n in a.reference_epochs]
    rows += [(f"warped init + temporal loss, {n} passes" + (f", {e} epochs" if e else ""), "content",
              TEMPORAL_WEIGHT, {}, {"passes": n, **({"max_num_epochs": e} if e else {})}) for n, e in a.passes]
    return rows


def pass_rows(text: str) -> List[Tuple[int, int]]:
    """``--passes``: pass counts, each optionally with its own total epochs per frame (``2,3,3:60``; 0: --epochs)."""
    rows = []
    for item in (v.strip() for v in text.split(",") if v.strip()):
        count, _, epochs = item.partition(":")
        rows.append((int(count), int(epochs or 0)))
    return rows


def loss_row(name: str, error: float, base: Dict[str, float], reports,
             far: Optional[Tuple[str, float]] = None, back: Optional[float] = None) -> Dict[str, object]:
    """A table row: the error against the baseline's, the long-range error ``far`` (column, value) if measured, the
    mean losses and their change, epochs (seconds are left to ``--time-only``, measured on an idle machine)."""
    row: Dict[str, object] = {"row": name, "E (x1e-3)": f"{1e3 * error:.3f}"}
    if base.get("E"):
        row["vs indep."] = f"{error / base['E']:.2f}"
    if back is not None:
        row[REVERSE] = f"{1e3 * back:.3f}" + (f" ({back / base['back']:.2f})" if base.get("back") else "")
    if far is not None:
        row[far[0]] = f"{1e3 * far[1]:.3f}" + (f" ({far[1] / base['far']:.2f})" if base.get("far") else "")
    if not reports:
        return row
    style = float(np.mean([r.style_loss for r in reports]))
    content = float(np.mean([r.content_loss for r in reports]))
    row["style"] = f"{style:.4g}" + (f" ({100 * (style / base['style'] - 1):+.1f}%)" if base.get("style") else "")
    row["content"] = f"{content:.4g}" + (f" ({100 * (content / base['content'] - 1):+.1f}%)"
                                         if base.get("content") else "")
    total = style + content
    row["style+content"] = f"{total:.4g}" + (f" ({100 * (total / (base['style'] + base['content']) - 1):+.1f}%)"
                                             if base.get("style") else "")
    row["epochs/frame"] = f"{np.mean([r.epochs for r in reports]):.1f}"
    row["_style"], row["_content"] = style, content
    return row


def timings(clip_paths: Sequence[str], out_frames: Sequence[str], reports, weights: str, a, work: str) -> str:
    """Seconds per frame of the temporal run (flow, stylization, encode) against one still, and peak memory."""
    frames = read01(clip_paths)
    began = time.perf_counter()
    flow.compute(frames, os.path.join(work, "flowtiming"), frames[0].shape[:2])
    flow_s = (time.perf_counter() - began) / max(len(frames) - 1, 1)
    began = time.perf_counter()
    writing.encode(list(out_frames), os.path.join(work, "timing.mp4"), Fraction(25))
    encode_s = (time.perf_counter() - began) / len(out_frames)
    style_s = float(np.mean([r.seconds for r in reports]))
    cfg = Config(content_image=clip_paths[0], style_image=a.style, weights=weights, max_long_edge=max(a.size),
                 optimizer="lbfgs", init="content", max_num_epochs=a.epochs, output_dir=None, gpu=-1, quiet=True)
    began = time.perf_counter()
    still = api.run(cfg)
    still_s = time.perf_counter() - began
    total = flow_s + style_s + encode_s
    rows = [{"size": f"{a.size[0]}x{a.size[1]}", "flow s/frame": f"{flow_s:.3f} ({100 * flow_s / total:.1f}%)",
             "stylize s/frame": f"{style_s:.2f}", "encode s/frame": f"{encode_s:.4f}",
             "total s/frame": f"{total:.2f}", "still s": f"{still_s:.2f} ({still.epochs} epochs)",
             "peak RSS MB": f"{peak_rss_mb():.0f}"}]
    return table(rows, list(rows[0]))


def per_frame(outputs: Dict[str, Tuple[Sequence[str], Sequence]]) -> str:
    """Each stylized row's content and style loss frame by frame, as the change against the baseline's same frame
    (the baseline's own losses in its columns): where along the clip a row's excess arises."""
    base = outputs[BASELINE][1]
    lines = []
    for i, frame in enumerate(base):
        line: Dict[str, object] = {"frame": frame.index, "content (indep.)": f"{frame.content_loss:.4g}",
                                   "style (indep.)": f"{frame.style_loss:.4g}"}
        for name, (_, reports) in outputs.items():
            if name == BASELINE or not reports:
                continue
            line[f"content: {name}"] = f"{100 * (reports[i].content_loss / frame.content_loss - 1):+.1f}%"
            line[f"style: {name}"] = f"{100 * (reports[i].style_loss / frame.style_loss - 1):+.1f}%"
        lines.append(line)
    return table(lines, list(lines[0]))


def sharpness(rgb: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey picture (0..1), x1e3: how much fine texture it has."""
    grey = rgb.mean(axis=2)
    lap = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return 1e3 * float(np.abs(lap).mean())


def edge_agreement(rgb: np.ndarray, photo: np.ndarray) -> float:
    """Correlation of the two pictures' gradient magnitudes after a Gaussian blur (σ = 2 pixels): whether the
    stylized frame's edges sit where the input frame's are."""
    from scipy import ndimage

    def edges(a: np.ndarray) -> np.ndarray:
        gy, gx = np.gradient(ndimage.gaussian_filter(a.mean(axis=2), 2.0))
        e = np.hypot(gx, gy)
        return e - e.mean()

    x, y = edges(rgb), edges(photo)
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def structure(clip_paths: Sequence[str], outputs: Dict[str, Tuple[Sequence[str], Sequence]]) -> str:
    """Each row's sharpness and edge agreement with the input, frame by frame (what a chain of warps may lose)."""
    photos = read01(clip_paths)
    lines = [{"frame": i + 1, "sharpness: input": f"{sharpness(p):.0f}"} for i, p in enumerate(photos)]
    for name, (paths, reports) in outputs.items():
        if not reports:
            continue
        for line, path, photo in zip(lines, paths, photos):
            frame = images.read_image(path) / 255.0
            line[f"sharpness: {name}"] = f"{sharpness(frame):.0f}"
            line[f"edges: {name}"] = f"{edge_agreement(frame, photo):.3f}"
    return table(lines, list(lines[0]))


def save_strip(path: str, rows: Sequence[Sequence[str]], first: int, count: int = 6) -> None:
    """Save frames ``first .. first+count-1`` (0-based) of each row of frame paths side by side, rows stacked."""
    from PIL import Image

    lines = [np.concatenate([images.read_image(p) for p in paths[first:first + count]], axis=1) for paths in rows]
    Image.fromarray(np.concatenate(lines, axis=0)).save(path)


def floats(text: str) -> List[float]:
    """A comma-separated list of numbers (empty: none)."""
    return [float(v) for v in text.split(",") if v.strip()]


def parse(argv) -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", default="320x240", help="frame width x height")
    ap.add_argument("--epochs", type=int, default=10, help="--max-num-epochs of every frame (L-BFGS)")
    ap.add_argument("--photo", default=CONTENT)
    ap.add_argument("--style", default=STYLE)
    ap.add_argument("--strip", help="save 6 consecutive frames (input, independent, temporal) as this picture")
    ap.add_argument("--no-noise", action="store_true", help="skip the independent-from-noise row")
    ap.add_argument("--no-warped-only", action="store_true", help="skip the warped-init-only row")
    ap.add_argument("--no-floor-row", action="store_true", help="skip the no-epoch-floor row")
    ap.add_argument("--no-default-row", action="store_true",
                    help="skip the default temporal row (when another run has it; needs --no-time, no --strip)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the independent-from-content row (when another run of the same command has it: the "
                    "rows then show no change against it; needs --no-default-row, no --per-frame)")
    ap.add_argument("--gammas", type=floats, default=[], help="extra rows with these temporal weights (1000,100)")
    ap.add_argument("--smoothing", type=floats, default=[],
                    help="extra rows with the loss's reliability map smoothed by these sigmas in pixels (1,2)")
    ap.add_argument("--smoothing-gamma", type=float, default=TEMPORAL_WEIGHT, help="the smoothing rows' weight")
    ap.add_argument("--warped-shares", type=floats, default=[],
                    help="extra rows whose later frames start from this share of the warped result, the rest the "
                    "frame's content (0.5)")
    ap.add_argument("--temporal-frames", action="append", default=[], metavar="J1,J2,...",
                    help="an extra row with these temporal frames (long-term terms; repeat for more rows: 1,10,20,40)")
    ap.add_argument("--long-range", type=int, default=0, metavar="J",
                    help="add a column: the same error E against frame t-J instead of t-1 (flows and reliability "
                    "from the input clip; 10)")
    ap.add_argument("--warp-interpolation", default=warping.WARP_INTERPOLATION, choices=warping.INTERPOLATIONS,
                    help="the kernel of every warped row's warp (the start and the temporal loss's target)")
    ap.add_argument("--interpolations", type=lambda t: [v.strip() for v in t.split(",") if v.strip()], default=[],
                    help="extra rows at the default weight with these warp kernels (bicubic,lanczos)")
    ap.add_argument("--low-pass", type=floats, default=[],
                    help="extra rows whose temporal loss holds only the blurred difference to ω (Gaussian σ in "
                    "pixels: 2)")
    ap.add_argument("--low-pass-gammas", type=floats, default=[],
                    help="the low-pass rows' temporal weights (default: the default weight)")
    ap.add_argument("--reference-epochs", type=lambda t: [int(v) for v in floats(t)], default=[],
                    help="extra rows of independent frames from the content with these epoch limits (30)")
    ap.add_argument("--passes", type=pass_rows, default=[], metavar="N[:EPOCHS],...",
                    help="extra rows with Ruder's multi-pass algorithm: N passes sharing --epochs (or EPOCHS) per "
                    "frame (2,3,3:60)")
    ap.add_argument("--forward-error", action="store_true",
                    help="add a column: the same error E the other way round, frame t-1 warped onto frame t (the "
                    "direction a forward pass's temporal loss holds; E itself is the direction a backward pass holds)")
    ap.add_argument("--per-frame", action="store_true",
                    help="also print each row's losses frame by frame against the baseline's, and its sharpness and "
                    "edge agreement with the input")
    ap.add_argument("--no-time", action="store_true", help="skip the seconds-per-frame table")
    ap.add_argument("--time-only", action="store_true",
                    help="only the seconds-per-frame table (one temporal run of the clip, then one still)")
    a = ap.parse_args(argv)
    a.size = tuple(int(v) for v in a.size.lower().split("x"))
    if a.no_default_row and (a.strip or not a.no_time):
        ap.error("--no-default-row: the strip and the seconds are of the default row; add --no-time, drop --strip")
    if a.no_baseline and (a.per_frame or not a.no_default_row):
        ap.error("--no-baseline: the per-frame tables compare with the baseline; add --no-default-row, drop "
                 "--per-frame")
    unknown = sorted(set(a.interpolations) - set(warping.INTERPOLATIONS))
    if unknown:
        ap.error(f"--interpolations: unknown kernel(s) {', '.join(unknown)}")
    return a


def skipped(a, name: str, init: Optional[str]) -> bool:
    """Whether the flags leave the row ``name`` out."""
    return ((init == "noise" and a.no_noise) or (name == "warped init only" and a.no_warped_only)
            or (name.endswith("no epoch floor") and a.no_floor_row) or (name == TEMPORAL and a.no_default_row)
            or (name == BASELINE and a.no_baseline))


def main(argv=None) -> None:
    a = parse(argv)
    print_machine()
    flags = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"\n`python bench/video.py {flags}`: {a.frames} frames of {a.size[0]}x{a.size[1]}, L-BFGS, at most "
          f"{a.epochs} epochs per frame, synthetic weights\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="nstyle-bench-video-") as tmp:
        weights = synthetic_weights(tmp)
        clip = os.path.join(tmp, "clip")
        os.makedirs(clip)
        clip_paths = make_clip(a.photo, a.frames, a.size, clip)
        if a.time_only:
            run = stylize(clip, weights, a, "content", TEMPORAL_WEIGHT, os.path.join(tmp, "temporal"))
            print(timings(clip_paths, run["frames"], run["reports"], weights, a, tmp))
            return
        inputs01 = read01(clip_paths)
        pairs = consistency.input_flows(inputs01)
        far_pairs = consistency.input_flows(inputs01, a.long_range) if a.long_range else None
        far_column = f"E t-{a.long_range} (x1e-3)"
        rows, base, outputs = [], {}, {}
        for name, init, gamma, knobs, options in ROWS + sweep_rows(a):
            if skipped(a, name, init):
                continue
            if init is None:
                paths, reports = clip_paths, []
            else:
                run = stylize(clip, weights, a, init, gamma, os.path.join(tmp, f"row{len(rows)}"), knobs, options)
                paths, reports = run["frames"], run["reports"]
            outputs[name] = (paths, reports)
            outputs01 = read01(paths)
            error = consistency.warping_error(outputs01, pairs)
            far = (far_column, consistency.warping_error(outputs01, far_pairs, a.long_range)) if far_pairs else None
            back = consistency.warping_error(outputs01, pairs, reverse=True) if a.forward_error else None
            row = loss_row(name, error, base, reports, far, back)
            if name == BASELINE:
                base = {"E": error, "style": row["_style"], "content": row["_content"], "far": far and far[1],
                        "back": back}
                row = loss_row(name, error, base, reports, far, back)
            rows.append(row)
            print(f"{name}: E {error:.6f}{f', E fwd {back:.6f}' if back is not None else ''}"
                  f"{f', E t-{a.long_range} {far[1]:.6f}' if far else ''}, style "
                  f"{row.get('style', '-')}, content {row.get('content', '-')}", flush=True)
        columns = ["row", "E (x1e-3)", "vs indep."] + ([REVERSE] if a.forward_error else []) + (
            [far_column] if far_pairs else []) + [
            "style", "content", "style+content", "epochs/frame"]
        print()
        print(table(rows, columns))
        if a.per_frame:
            print()
            print(per_frame(outputs))
            print()
            print(structure(clip_paths, outputs))
        if not a.no_time:
            print()
            print(timings(clip_paths, outputs[TEMPORAL][0], outputs[TEMPORAL][1], weights, a, tmp))
        if a.strip:
            first = max(0, min(a.frames - 6, a.frames // 2 - 3))
            save_strip(a.strip, [clip_paths, outputs[BASELINE][0], outputs[TEMPORAL][0]], first)
            print(f"\nstrip: {a.strip} (frames {first + 1}-{min(first + 6, a.frames)}; rows: input, independent "
                  "from content, warped init + temporal loss)")


if __name__ == "__main__":
    main()
