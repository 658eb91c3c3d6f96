#!/usr/bin/python3
"""Writes the fuzzers' seed corpora, tests/fuzz/corpus/<target>/: a few real small files per reader,
written by the libraries that write them in the wild (numpy, Python's zipfile/tarfile/gzip, Pillow,
torch.save) or, for repro's own formats, by hand as repro writes them.

Run with Debian's interpreter (numpy, Pillow, torch): /usr/bin/python3 tests/fuzz/make_corpus.py
The output is deterministic (fixed seeds and timestamps); the files are committed, so fuzzing needs
no Python. Each file stays under 20 KB and the whole corpus under 1 MB.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tarfile
import zipfile
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")
rng = np.random.default_rng(1234)


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    assert len(data) < 20 * 1024, (target, name, len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy_bytes(a, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, a)
    else:
        np.lib.format.write_array(b, np.asanyarray(a), version=version)
    return b.getvalue()


def npz_bytes(compressed=False, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def gradient(h, w, c=3):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x + y) * 7) % 256][:c], -1)
    return img.astype(np.uint8)


def pil_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def npy_corpus():
    put("npy", "f4_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
    put("npy", "u1_4.npy", npy_bytes(np.array([0, 1, 254, 255], np.uint8)))
    put("npy", "i8_scalar.npy", npy_bytes(np.array(-7, np.int64)))
    put("npy", "f8_empty.npy", npy_bytes(np.zeros((0, 3), np.float64)))
    put("npy", "f2_v2.npy", npy_bytes(np.array([1.5, -2.0], np.float16), version=(2, 0)))
    put("npy", "b1_2x2.npy", npy_bytes(np.array([[True, False], [False, True]])))
    put("npy", "c8.npy", npy_bytes(np.array([1 + 2j], np.complex64)))
    put("npy", "fortran.npy", npy_bytes(np.asfortranarray(np.arange(6, dtype="<i4").reshape(2, 3))))


def npz_corpus():
    put("npz", "savez.npz", npz_bytes(a=np.arange(4, dtype=np.float32), b=np.eye(2)))
    put("npz", "savez_compressed.npz",
        npz_bytes(True, arr_0=gradient(4, 4)[None], labels=np.array([3], np.int64)))
    put("npz", "empty_array.npz", npz_bytes(x=np.zeros((0,), np.uint8)))


def zip_corpus():
    def z(entries, compression):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", compression) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = compression
                zf.writestr(info, data)
        return b.getvalue()

    put("zip", "stored.zip", z([("a.txt", b"hello\n"), ("dir/", b""), ("dir/b.bin", bytes(range(64)))],
                               zipfile.ZIP_STORED))
    put("zip", "deflated.zip", z([("x.npy", npy_bytes(np.zeros((8, 8), np.float32))), ("empty", b"")],
                                 zipfile.ZIP_DEFLATED))


def torch_corpus():
    def save(obj):
        b = io.BytesIO()
        torch.save(obj, b)
        return b.getvalue()

    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 2)
    put("torch_pickle", "linear_state_dict.pt", save(lin.state_dict()))
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    put("torch_pickle", "views.pt", save(OrderedDict([
        ("base", base), ("t", base.t()), ("row", base[1]), ("col", base[:, 2]), ("scalar", torch.tensor(2.5))])))
    put("torch_pickle", "dtypes.pt", save({
        "h": torch.ones(2, dtype=torch.float16), "bf": torch.ones(2, dtype=torch.bfloat16),
        "d": torch.ones(2, dtype=torch.float64), "i": torch.arange(3), "i32": torch.arange(3, dtype=torch.int32),
        "u8": torch.arange(3, dtype=torch.uint8), "b": torch.tensor([True, False])}))
    put("torch_pickle", "parameter.pt", save({"p": torch.nn.Parameter(torch.zeros(2, 2)), "e": torch.zeros(0)}))


def packed_bytes(images, labels):
    n, h, w, c = images.shape
    img = images.astype(np.uint8).tobytes()
    images_offset = 64
    end = images_offset + len(img)
    labels_offset = (end + 7) // 8 * 8 if labels is not None else 0
    file_bytes = labels_offset + 8 * n if labels is not None else end
    header = struct.pack("<8sIIQIIIIQQQ", b"RPACKED\0", 1, 64, n, h, w, c, int(labels is not None),
                         images_offset, labels_offset, file_bytes)
    assert len(header) == 64
    data = header + img
    lab = b""
    if labels is not None:
        lab = np.asarray(labels, "<i8").tobytes()
        data += b"\0" * (labels_offset - end) + lab
    manifest = OrderedDict([
        ("format", "repro-packed"), ("format_version", 1), ("data_file", "packed.bin"), ("layout", "NHWC"),
        ("dtype", "uint8"), ("count", n), ("shape", [n, h, w, c]), ("has_labels", labels is not None),
        ("labels_dtype", "int64"), ("data_bytes", len(data)),
        ("fingerprint", hashlib.sha256(img).hexdigest()),
        ("labels_sha256", hashlib.sha256(lab).hexdigest() if labels is not None else ""),
        ("recipe", {"dataset": "fuzz", "split": "train"}), ("recipe_version", 1),
        ("sources", [{"path": "src.npz", "sha256": "0" * 64, "bytes": 100}])])
    return json.dumps(manifest, indent=2).encode() + b"\n" + data


def packed_corpus():
    put("packed", "labels_2x4x4.bin", packed_bytes(np.stack([gradient(4, 4), 255 - gradient(4, 4)]), [3, 7]))
    put("packed", "nolabels_1x5x3.bin", packed_bytes(gradient(5, 3)[None], None))


def image_corpus():
    g = gradient(8, 6)
    rgb = Image.fromarray(g)
    rgba = Image.fromarray(np.dstack([g, gradient(8, 6, 1)]), "RGBA")
    grey = Image.fromarray(g[..., 0])
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=8)
    files = {
        "png": {
            "rgb.png": pil_bytes(rgb, "PNG"),
            "rgba.png": pil_bytes(rgba, "PNG"),
            "grey.png": pil_bytes(grey, "PNG"),
            "palette.png": pil_bytes(pal, "PNG"),
            "optimized.png": pil_bytes(rgb, "PNG", optimize=True),
            "grey16.png": pil_bytes(Image.fromarray((g[..., 0].astype(np.uint16) * 257)), "PNG"),
            "la.png": pil_bytes(grey.convert("LA"), "PNG"),
            "bilevel.png": pil_bytes(grey.convert("1"), "PNG"),
        },
        "jpeg": {
            "rgb.jpg": pil_bytes(rgb, "JPEG", quality=90),
            "progressive.jpg": pil_bytes(rgb, "JPEG", progressive=True),
            "grey.jpg": pil_bytes(grey, "JPEG"),
            "cmyk.jpg": pil_bytes(rgb.convert("CMYK"), "JPEG"),
            "subsampling444.jpg": pil_bytes(rgb, "JPEG", subsampling=0),
        },
        "gif": {
            "palette.gif": pil_bytes(pal, "GIF"),
            "grey.gif": pil_bytes(grey, "GIF"),
            "transparent.gif": pil_bytes(pal, "GIF", transparency=0),
            "animated.gif": pil_bytes(pal, "GIF", save_all=True, append_images=[pal.transpose(Image.FLIP_LEFT_RIGHT)],
                                      duration=50, loop=0),
        },
        "webp": {
            "lossy.webp": pil_bytes(rgb, "WEBP", quality=80),
            "lossless.webp": pil_bytes(rgb, "WEBP", lossless=True),
            "alpha.webp": pil_bytes(rgba, "WEBP", quality=80),
            "animated.webp": pil_bytes(rgb, "WEBP", save_all=True,
                                       append_images=[rgb.transpose(Image.FLIP_LEFT_RIGHT)], duration=50),
        },
    }
    for fmt, items in files.items():
        for name, data in items.items():
            put(fmt, name, data)
    for name in ("rgb.png", "palette.png"):
        put("image", name, files["png"][name])
    put("image", "rgb.jpg", files["jpeg"]["rgb.jpg"])
    put("image", "palette.gif", files["gif"]["palette.gif"])
    put("image", "lossy.webp", files["webp"]["lossy.webp"])
    # LSUN values: WebP files of photos larger than 64 on the short side or not.
    put("lsun_record", "80x72.webp", pil_bytes(Image.fromarray(gradient(72, 80)), "WEBP", quality=75))
    put("lsun_record", "64x96.webp", pil_bytes(Image.fromarray(gradient(96, 64)), "WEBP", quality=75))
    put("lsun_record", "small_lossless.webp", pil_bytes(rgb, "WEBP", lossless=True))


def lsun_lmdb_corpus():
    import tempfile
    import lmdb
    webps = [pil_bytes(Image.fromarray(gradient(6 + i, 5)), "WEBP", lossless=True) for i in range(3)]
    for name, items in (("three_records.mdb", [(b"%04x" % i, w) for i, w in enumerate(webps)]),
                        ("one_lossy.mdb", [(b"c0ffee", pil_bytes(Image.fromarray(gradient(70, 66)), "WEBP", quality=50))])):
        with tempfile.TemporaryDirectory() as d:
            env = lmdb.open(d, map_size=1 << 20, subdir=True)
            with env.begin(write=True) as txn:
                for k, v in items:
                    txn.put(k, v)
            env.close()
            with open(os.path.join(d, "data.mdb"), "rb") as f:
                put("lsun_lmdb", name, f.read())


def cifar_corpus():
    def record(label, seed):
        img = np.full(3072, seed * 37 % 256, np.uint8)
        img[::97] = label
        return bytes([label]) + img.tobytes()

    def tar(members, mode):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode=mode) as t:
            info = tarfile.TarInfo("cifar-10-batches-bin")
            info.type = tarfile.DIRTYPE
            info.mtime = 0
            t.addfile(info)
            for name, data in members:
                info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
                info.size = len(data)
                info.mtime = 0
                t.addfile(info, io.BytesIO(data))
        return b.getvalue()

    names = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
    members = [(n, record(i % 10, i)) for i, n in enumerate(names)] + [("batches.meta.txt", b"airplane\n")]
    raw = tar(members, "w")
    put("cifar_tar", "all_splits.tar.gz", gzip.compress(raw, mtime=0))
    put("cifar_tar", "test_only.tar", tar([("test_batch.bin", record(3, 1))], "w:")[:12 * 1024])
    put("cifar_tar", "two_records.tar.gz", gzip.compress(
        tar([("test_batch.bin", record(1, 2) + record(9, 3))], "w"), mtime=0))


def imagenet32_corpus():
    data = np.stack([np.dstack([gradient(32, 32)[..., k] for k in range(3)]).transpose(2, 0, 1).reshape(-1),
                     np.arange(3072, dtype=np.uint8)]).astype(np.uint8)
    put("imagenet32", "val_data.npz", npz_bytes(data=data, labels=np.array([1, 1000], np.int64)))
    put("imagenet32", "train_batch.npz", npz_bytes(True, data=data, labels=[5, 6], mean=np.zeros(3072)))
    put("imagenet32", "no_labels.npz", npz_bytes(data=data[:1]))


def idx_bytes(a, magic=None):
    return (struct.pack(">I", magic if magic is not None else 0x800 + a.ndim) +
            struct.pack(">" + "I" * a.ndim, *a.shape) + a.astype(np.uint8).tobytes())


def idx_corpus():
    images = np.stack([gradient(28, 28)[..., 0], gradient(28, 28)[..., 1]])
    put("idx", "images.idx3.gz", gzip.compress(idx_bytes(images), mtime=0))
    put("idx", "labels.idx1.gz", gzip.compress(idx_bytes(np.array([3, 9], np.uint8)), mtime=0))
    put("idx", "images_plain.idx3", idx_bytes(images[:1]))


def reference_batch_corpus():
    imgs = np.stack([gradient(8, 8), 255 - gradient(8, 8)])
    put("reference_batch", "arr_0.npz", npz_bytes(arr_0=imgs))
    d = 4
    a = rng.standard_normal((d, d))
    put("reference_batch", "stats.npz", npz_bytes(
        arr_0=imgs, mu=rng.standard_normal(d), sigma=a @ a.T, mu_s=rng.standard_normal(d), sigma_s=a.T @ a,
        pool_3=rng.standard_normal((2, d)).astype(np.float32)))
    put("reference_batch", "stats_only_compressed.npz", npz_bytes(
        True, mu=np.zeros(d), sigma=np.eye(d), mu_s=np.zeros(2), sigma_s=np.eye(2)))


def experiment_corpus():
    for name in ("quickstart.yaml", "ci_regression.yaml", "table2.yaml"):
        with open(os.path.join(ROOT, "experiments", name), "rb") as f:
            put("experiment_yaml", name, f.read())
    put("experiment_yaml", "anchors.yaml", b"""name: anchors
description: aliases, only/exclude/include and overrides
base: &base
  model: &model {image_size: 32, num_channels: 32, num_res_blocks: 1, channel_mult: [1, 2], attention_resolutions: [16]}
  diffusion: {diffusion_steps: 100, noise_schedule: linear}
  train: {batch_size: 4, lr: 1.0e-4, iterations: 10}
  data: {path: data/x}
  eval: {at_iterations: [10], sampling_steps: [10], num_samples: 8, batch_size: 8, metrics: [fid], features: random-inception, reference: ref.npz}
matrix:
  method:
    - {name: adm, train: {method: adm}}
    - {name: adm-ip, train: {method: adm-ip, gamma: 0.1}}
  size:
    - {name: small, model: *model}
    - {name: wide, model: {num_channels: 64}}
  lr: {key: train.lr, values: [1.0e-4, 2.0e-4]}
overrides:
  method.adm-ip: {diffusion: {noise_schedule: cosine}}
exclude:
  - {when: {method: adm, size: wide}, reason: not needed}
seeds: [0, 1]
""")
    # Runs from checkpoint files: one pinned (planned although the file is missing), one not (an error).
    put("experiment_yaml", "released.yaml", b"""name: released
checkpoints_dir: ckpts
base:
  model: {image_size: 8, num_channels: 32, num_res_blocks: 1, channel_mult: [1, 1], attention_resolutions: [4]}
  diffusion: {diffusion_steps: 20}
  train: {seed: 0}
  eval: {sampling_steps: [5], num_samples: 6, batch_size: 6, metrics: [fid], features: random-inception, reference: ref.npz}
matrix:
  file:
    - {name: pinned, checkpoint: {path: a/ADM-IP.pt, iteration: 460000, ema: 0.9999, sha256: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff}}
    - {name: raw, checkpoint: {path: /nonexistent/model.pt, iteration: 0, ema: model}}
""")


def events_corpus():
    seq = [0]

    def rec(**kw):
        r = {"v": 1, "seq": seq[0], "time": 1.7e9 + seq[0]}
        r.update(kw)
        seq[0] += 1
        return json.dumps(r)

    lines = [rec(type="start", step=0, resumed_from=-1, method="adm-ip")]
    for step in (10, 20, 30):
        lines.append(rec(type="log", step=step, loss=step / 1000, mse=step / 2000, lr=1e-4, note="text"))
    lines.append(rec(type="checkpoint", step=30, files={"model000030.pt": "f" * 64, "ema_0.9999_000030.pt": "e" * 64}))
    lines.append(rec(type="warning", message="corrupt checkpoint skipped"))
    lines.append(rec(type="end", status="completed", step=30, message=""))
    put("events_jsonl", "completed.jsonl", ("\n".join(lines) + "\n").encode())
    seq[0] = 0
    lines = [rec(type="start", step=20, resumed_from=20, method="adm"), rec(type="log", step=20, loss=0.5),
             "not json", '{"seq": "x", "type": "log"}', rec(type="diverged", step=21, loss=float("inf"))]
    put("events_jsonl", "diverged_malformed.jsonl", ("\n".join(lines) + "\n" + '{"v":1,"seq":9,"ty').encode())
    seq[0] = 0
    put("events_jsonl", "interrupted.jsonl", (rec(type="start", step=0, resumed_from=-1) + "\n" +
                                              rec(type="end", status="interrupted", step=5, message="SIGTERM") +
                                              "\n").encode())


def exposure_corpus():
    def curves(mode, steps, n, k=0.0, nan=False):
        records = []
        for i in reversed(range(n)):
            ratio = float("nan") if nan and i == 1 else 1.0 - 0.01 * i
            records.append({"index": i, "timestep": i * 10, "eps_norm_sample": 55.4 + i, "eps_norm_train": 55.4,
                            "var_sample": 0.5 * ratio, "var_train": 0.5, "var_ratio": ratio})
        return {"v": 1, "mode": mode, "steps": steps, "sampler": "ancestral", "eta": 0.0, "num": 16,
                "eps_scale": {"b": 1.017, "k": k}, "start": 0, "checkpoint": "ema_0.9999_000100.pt",
                "data": "ref.npz", "records": records}

    put("exposure_json", "chain.json", json.dumps(curves("chain", "100", 6), indent=1).encode())
    put("exposure_json", "step_schedule.json", json.dumps(curves("step", "ddim10", 4, k=0.0001)).encode())
    put("exposure_json", "null_ratio.json", json.dumps(curves("chain", "10", 3, nan=True)).replace("NaN", "null").encode())
    put("exposure_json", "truncated.json", json.dumps(curves("chain", "10", 3))[:-40].encode())


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    npy_corpus()
    npz_corpus()
    zip_corpus()
    torch_corpus()
    packed_corpus()
    image_corpus()
    lsun_lmdb_corpus()
    cifar_corpus()
    imagenet32_corpus()
    idx_corpus()
    reference_batch_corpus()
    experiment_corpus()
    events_corpus()
    exposure_corpus()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    assert total < 1024 * 1024, total
    print("corpus: %d files, %d bytes in %s" % (sum(len(fs) for _, _, fs in os.walk(OUT)), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
