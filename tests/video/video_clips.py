"""Small clips made by the tests: a textured scene panning right, optionally with a tone as AAC audio or a
display rotation, written with PyAV."""
import os
from fractions import Fraction

import numpy as np


def scene(count=8, h=48, w=64, step=2, seed=0):
    """``count`` uint8 frames of a smooth random texture moving ``step`` pixels right per frame."""
    from scipy.ndimage import gaussian_filter

    noise = np.random.RandomState(seed).rand(h, w + step * count, 3)
    smooth = gaussian_filter(noise, (5, 5, 0))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    wide = np.round(smooth * 255).astype(np.uint8)
    return [np.ascontiguousarray(wide[:, (count - i) * step:(count - i) * step + w]) for i in range(count)]


def write_clip(path, frames, rate=12, audio=False, rotation=0):
    """Write ``frames`` to ``path`` (H.264, near-lossless) at ``rate`` fps; ``audio``: one second of a 440 Hz tone
    as AAC; ``rotation``: a display matrix turning the picture that many degrees counter-clockwise."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=Fraction(rate), options={"crf": "10"})
        video.pix_fmt, video.height, video.width = "yuv420p", frames[0].shape[0], frames[0].shape[1]
        if rotation:
            video.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=44100) if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            t = np.arange(44100) / 44100.0
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for start in range(0, 44100, 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + 1024]), format="flt",
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = 44100, start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return str(path)


def audio_packets(path):
    """The payload bytes of every audio packet of ``path``."""
    import av

    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def write_empty_clip(path):
    """An MP4 with an H.264 track and no frame in it."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=Fraction(12))
        video.pix_fmt, video.height, video.width = "yuv420p", 48, 64
        container.start_encoding()
    return str(path)


def write_frames(folder, frames):
    """``frames`` as numbered PNG files in ``folder`` (a clip given as a folder of frames); returns its path."""
    from PIL import Image

    for i, rgb in enumerate(frames):
        Image.fromarray(rgb).save(os.path.join(str(folder), f"{i:03d}.png"))
    return str(folder)


def pixels(folder):
    """The PNG frames of ``folder`` in name order, as arrays."""
    from PIL import Image

    return [np.asarray(Image.open(os.path.join(folder, n))) for n in sorted(os.listdir(folder))]
