#!/usr/bin/env python3
"""What one uploaded picture costs: peak memory, time and stored size of `clean_image`.

    .venv/bin/python bench/bench_attachments.py              # every case, 5 MB limit (the default)
    .venv/bin/python bench/bench_attachments.py --cases png-6300 --parallel 4
    git show d061b0e:plugins/reporting/attachments.py > /tmp/old.py
    .venv/bin/python bench/bench_attachments.py --module /tmp/old.py    # the code before the limits

Each case runs in a fresh child process (`--child`), which reports its own peak resident memory
(Linux's VmHWM, reset just before; `ru_maxrss` elsewhere) before and after cleaning the picture, so
"peak +MiB" is what the picture added on top of Python, Pillow and the module. With `--parallel N`
the child cleans N copies of the picture in N threads at once, as a gthread worker of
`redumbrella serve` would for N simultaneous uploads (MALLOC_ARENA_MAX=2, as serve sets it).
The pictures (the security review's, and the largest kept whole):

- png-6300: a 6,300 x 6,300 RGBA PNG of one colour (about 150 KB: a decompression-bomb shape);
- png-p-noise: a 2,000 x 2,000 palette PNG of noise (4 MB; three times that as RGB);
- jpeg-noise: a quality-20 JPEG of noise, about 4 MB, 4,000 x 3,000 (larger at quality 88);
- jpeg-8000: a 8,000 x 6,000 quality-70 photo-like JPEG (a 48-megapixel phone mode);
- webp-noise: a lossy WebP of noise, 4,000 x 3,000 (as PNG, 36 MB before);
- jpeg-4032-rot: a 12-megapixel phone photo taken upright (EXIF orientation 6);
- png-4096-rgba: a 4,096 x 3,072 RGBA screenshot-like PNG (the largest kept whole).

Nothing is mocked: the child imports plugins.reporting.attachments and calls clean_image.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _noise(size, mode="RGB"):
    from PIL import Image

    channels = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * channels))


def make_cases(folder: Path) -> dict[str, Path]:
    from PIL import Image

    cases = {}

    def keep(name, image, fmt, **params):
        out = io.BytesIO()
        image.save(out, format=fmt, **params)
        path = folder / name
        path.write_bytes(out.getvalue())
        cases[name] = path

    keep("png-6300", Image.new("RGBA", (6300, 6300), (200, 30, 30, 255)), "PNG", optimize=True)
    palette = _noise((2000, 2000), "L").convert("P")  # one byte a pixel in, three out
    palette.putpalette(list(os.urandom(768)))
    keep("png-p-noise", palette, "PNG")
    keep("jpeg-noise", _noise((4000, 3000)), "JPEG", quality=20, subsampling=0)
    photo = Image.radial_gradient("L").resize((8000, 6000)).convert("RGB")
    keep("jpeg-8000", photo, "JPEG", quality=70)
    keep("webp-noise", _noise((4000, 3000)), "WEBP", quality=5)
    # The largest pictures the new limits accept whole: a phone photo taken upright, a screenshot.
    upright = Image.Exif()
    upright[0x0112] = 6  # Orientation: rotate 90 degrees
    keep("jpeg-4032-rot", photo.resize((4032, 3024)), "JPEG", quality=85, exif=upright)
    gradient = Image.linear_gradient("L").resize((4096, 3072))
    keep("png-4096-rgba", Image.merge("RGBA", (gradient, gradient.transpose(Image.Transpose.ROTATE_180),
                                               gradient, gradient)), "PNG")
    return cases


def _high_water_kib(reset: bool = False) -> int:
    """Peak resident memory of this process in KiB. Linux: VmHWM, which exec starts afresh
    (ru_maxrss would keep the forking parent's peak); `reset` brings it down to the current size."""
    status = Path("/proc/self/status")
    if not status.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0])


def child(path: str, max_bytes: int, parallel: int, module: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    from PIL import Image  # noqa: F401  (loaded before the baseline is read)

    if module:  # another version of attachments.py, to compare with
        import importlib.util

        spec = importlib.util.spec_from_file_location("attachments_under_test", module)
        attachments = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(attachments)
    else:
        from plugins.reporting import attachments
    AttachmentError, clean_image = attachments.AttachmentError, attachments.clean_image

    data = Path(path).read_bytes()
    results: list = []

    def one():
        started = time.perf_counter()
        try:
            cleaned, content_type = clean_image(data, max_bytes)
            results.append({"stored": len(cleaned), "type": content_type, "seconds": time.perf_counter() - started})
        except AttachmentError as exc:
            results.append({"refused": str(exc), "seconds": time.perf_counter() - started})

    before = _high_water_kib(reset=True)
    started = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = _high_water_kib()
    print(json.dumps({"input": len(data), "baseline_kib": before, "peak_kib": after,
                      "wall": time.perf_counter() - started, "results": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--max-mb", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--module", help="measure this attachments.py instead (e.g. one from `git show`)")
    args = parser.parse_args()
    max_bytes = args.max_mb * 1024 * 1024
    if args.child:
        child(args.child, max_bytes, args.parallel, args.module)
        return
    with tempfile.TemporaryDirectory() as folder:
        cases = make_cases(Path(folder))
        print(f"{'case':16} {'input':>9} {'peak +MiB':>10} {'wall s':>7}  result")
        for name, path in cases.items():
            if args.cases and name not in args.cases:
                continue
            run = subprocess.run(
                [sys.executable, __file__, "--child", str(path), "--max-mb", str(args.max_mb),
                 "--parallel", str(args.parallel), *(["--module", args.module] if args.module else [])],
                capture_output=True, text=True, check=True, cwd=ROOT,
                env={"MALLOC_ARENA_MAX": "2", **os.environ})  # as `redumbrella serve` runs gunicorn
            report = json.loads(run.stdout)
            added = (report["peak_kib"] - report["baseline_kib"]) / 1024
            outcome = "; ".join(
                f"refused: {r['refused']}" if "refused" in r else f"{r['type']} {r['stored'] / 1e6:.1f} MB"
                for r in report["results"][:1])
            print(f"{name:16} {report['input'] / 1e6:7.2f}MB {added:10.0f} {report['wall']:7.2f}  {outcome}")


if __name__ == "__main__":
    main()
