#!/usr/bin/python3
"""Writes the bad-input corpus: small crafted files for every reader, and cases.json,
which says for each how a user would feed it to repro, the exit code and a message fragment.

Run with Debian's interpreter (numpy, Pillow, lmdb): /usr/bin/python3 make_hostile.py
The files are committed; tests/integration/hostile_inputs_test.cpp runs every case.
Placeholders in "args": {in} the case's input (copied into a scratch dir), {out} an empty scratch
dir, {good} files/good (valid companions), {src} the source tree.
"""
import gzip, io, json, os, pickle, shutil, struct, tarfile, zipfile, zlib

import lmdb
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")
CASES = []


def case(name, data, args, exit_code, fragment, kind="file"):
    """Registers a case; data is bytes (a file), or a dict name -> bytes (a directory)."""
    path = os.path.join(FILES, name)
    if isinstance(data, dict):
        os.makedirs(path)
        for sub, content in data.items():
            full = os.path.join(path, sub)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(content)
    elif data is not None:
        with open(path, "wb") as f:
            f.write(data)
    CASES.append({"name": name, "args": args, "exit": exit_code, "fragment": fragment})


# ---- torch.save checkpoints, crafted opcode by opcode ----

def p_int(v):
    return pickle.dumps(v, protocol=2)[2:-1]


def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p_tensor(key, shape, stride, offset, numel, storage="FloatStorage"):
    pid = p_tuple([p_str("storage"), p_global("torch", storage), p_str(key), p_str("cpu"), p_int(numel)])
    return (p_global("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"Q" + p_int(offset) +
            p_tuple([p_int(d) for d in shape]) + p_tuple([p_int(d) for d in stride]) + b"\x89" +
            p_global("collections", "OrderedDict") + b")R" + b"t" + b"R")


def p_state_dict(entries):
    body = b"".join(p_str(name) + tensor for name, tensor in entries)
    return b"\x80\x02" + p_global("collections", "OrderedDict") + b")R" + (b"(" + body + b"u" if entries else b"") + b"."


def pt_zip(pickle_bytes, storages=None, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        for key, data in (storages or {}).items():
            z.writestr("archive/data/" + key, data)
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def patch_central_size(data, entry_name, value):
    """Sets the uncompressed size the central directory gives for entry_name."""
    at = data.rfind(entry_name) - 46  # the central header's fixed part precedes the name
    assert data[at:at + 4] == b"PK\x01\x02"
    return data[:at + 24] + struct.pack("<I", value) + data[at + 28:]


def patch_u32(data, signature, offset, value):
    data = bytearray(data)
    at = data.find(signature)
    assert at >= 0
    data[at + offset:at + offset + 4] = struct.pack("<I", value)
    return bytes(data)


FORWARD = "model forward --config {src}/configs/tiny32.yaml --checkpoint {in} --x {good}/x.npy --t {good}/t.npy --out {out}/y.npy --threads 1"


def checkpoints():
    four = b"\0" * 16
    def ck(name, entries, storages, code, frag):
        case(name, pt_zip(p_state_dict(entries), storages), FORWARD, code, frag)
    ck("pt_stride0_bomb.pt", [("w", p_tensor("0", [2**40], [0], 0, 4))], {"0": four}, 4, "expanded views")
    ck("pt_size_stride_overflow.pt", [("w", p_tensor("0", [2**32, 2], [2**40, 1], 0, 4))], {"0": four}, 4, "overflows 64 bits")
    ck("pt_offset_outside.pt", [("w", p_tensor("0", [4], [1], 3, 4))], {"0": four}, 4, "reaches element 6")
    ck("pt_negative_stride.pt", [("w", p_tensor("0", [2], [-1], 1, 4))], {"0": four}, 4, "negative size or stride")
    ck("pt_negative_offset.pt", [("w", p_tensor("0", [2], [1], -5, 4))], {"0": four}, 4, "negative storage offset")
    ck("pt_missing_storage.pt", [("w", p_tensor("7", [2], [1], 0, 2))], {}, 3, "has no entry 'archive/data/7'")
    ck("pt_unknown_storage_type.pt", [("w", p_tensor("0", [2], [1], 0, 2, "ComplexFloatStorage"))], {"0": four}, 3, "unsupported pickle global")
    n = 200000
    case("pt_deep_list_chain.pt", pt_zip(b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b".", method=zipfile.ZIP_DEFLATED), FORWARD, 4, "top-level object is a list")
    case("pt_deep_marks.pt", pt_zip(b"\x80\x02" + b"(" * 100000 + b".", method=zipfile.ZIP_DEFLATED), FORWARD, 3, "nesting deeper than 100 levels")
    case("pt_self_list.pt", pt_zip(b"\x80\x02]q\x00h\x00a."), FORWARD, 4, "top-level object is a list")
    case("pt_million_nones.pt", pt_zip(b"\x80\x02" + b"".join(b"NK" + bytes([i % 251]) for i in range(600000)) + b".", method=zipfile.ZIP_DEFLATED), FORWARD, 3, "more than 1048576 pickle")
    case("pt_os_system.pt", pt_zip(b"\x80\x02cos\nsystem\n(X\x02\x00\x00\x00lstR."), FORWARD, 3, "unsupported pickle global 'os.system'")
    case("pt_truncated_pickle.pt", pt_zip(p_state_dict([("w", p_tensor("0", [4], [1], 0, 4))])[:40], {"0": four}), FORWARD, 3, "truncated pickle")
    case("pt_legacy.pt", b"\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19.", FORWARD, 3, "legacy (pre-1.6)")
    case("pt_not_zip.pt", b"hello, this is not a checkpoint\n", FORWARD, 3, "not a torch.save checkpoint")
    case("pt_empty.pt", b"", FORWARD, 3, "not a torch.save checkpoint")
    good = pt_zip(p_state_dict([("w", p_tensor("0", [4], [1], 0, 4))]), {"0": four})
    case("pt_storage_lying_size.pt", patch_central_size(good, b"archive/data/0", 1800000000), FORWARD, 3,
         "claims 1800000000 bytes")
    case("pt_nested_dict.pt", pt_zip(b"\x80\x02}(X\x05\x00\x00\x00model}u."), FORWARD, 4, "only a flat state dict")
    case("pt_wrong_model.pt", good, FORWARD, 4, "missing")
    case("pt_list_in_setitem_dict.pt", pt_zip(b"\x80\x02}(]]u."), FORWARD, 4, "state dict key is a list")


# ---- .npy given as model inputs ----

def npy(header, data=b"", version=1):
    h = header.encode() + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(h)) + h + data


def npys():
    x = "model forward --config {src}/configs/tiny32.yaml --checkpoint {good}/missing.pt --x {in} --t {good}/t.npy --out {out}/y.npy --threads 1"
    # The checkpoint is read after the inputs; a missing one would be exit 3 too, so the fragments
    # name what each case breaks.
    case("npy_bad_magic.npy", b"NOTNUMPY" + b"\0" * 100, x, 3, "not a .npy file")
    case("npy_header_past_end.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{", x, 3, "truncated .npy header")
    case("npy_deep_header.npy", npy("{'descr': " + "[" * 50000 + "}"), x, 4, "nesting deeper than")
    case("npy_shape_wrap.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }"), x, 4, "overflows 64 bits")
    case("npy_shape_int64_overflow.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), x, 4, "overflows int64")
    case("npy_negative_dim.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3, 32, 32), }"), x, 4, "negative dimension")
    case("npy_object.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8), x, 4, "object dtype")
    case("npy_fortran.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 32, 32), }", b"\0" * 12288), x, 4, "Fortran order")
    case("npy_short_data.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }", b"\0" * 100), x, 4, "got 100")
    case("npy_big_endian.npy", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4), x, 4, "big-endian")
    case("npy_huge_integer.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"), x, 3, "integer too large")
    case("npy_unterminated.npy", npy("{'descr': '<f4"), x, 3, "unterminated string")
    case("npy_bad_version.npy", b"\x93NUMPY\x09\x00" + b"\0" * 20, x, 3, "unsupported .npy format version 9.0")


# ---- npz: prepare from an npz, reference batches ----

def npz_bytes(arrays, compressed=False):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def npzs():
    prep = "data prepare npz --source {in} --out {out}/prepared"
    good = npz_bytes({"arr_0": np.zeros((2, 8, 8, 3), np.uint8)})
    case("npz_stored_lying_size.npz", patch_u32(good, b"PK\x01\x02", 24, 1800000000), prep, 3, "stored entry claims 1800000000 bytes")
    deflated = npz_bytes({"arr_0": np.zeros((2, 8, 8, 3), np.uint8)}, compressed=True)
    case("npz_deflate_ratio_lie.npz", patch_u32(deflated, b"PK\x01\x02", 24, 2000000000), prep, 3, "more than deflate's 1032:1")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", b"hello")
    case("npz_entry_not_npy.npz", buf.getvalue(), prep, 3, "is not a .npy array")
    case("npz_truncated.npz", good[: len(good) // 2], prep, 3, "failed to open zip archive")
    case("npz_wrong_dtype.npz", npz_bytes({"arr_0": np.zeros((2, 8, 8, 3), np.float32)}), prep, 4, "uint8")
    case("npz_shape_wrap_inside.npz", (lambda b: b)(zip_of({"arr_0.npy": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }")})), prep, 4, "overflows 64 bits")
    ref = "eval --ref {in} --samples {good}/samples.npz --metrics fid --features random-inception --threads 1"
    case("ref_pool3_wrap.npz", zip_of({"pool_3.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }")}), ref, 4, "overflows")
    case("ref_mu_sigma_mismatch.npz", npz_bytes({"mu": np.zeros(4), "sigma": np.zeros((3, 3)), "mu_s": np.zeros(4),
                                                "sigma_s": np.zeros((4, 4))}), ref, 4, "sigma must have shape (4, 4)")
    case("ref_pool3_nan.npz", npz_bytes({"pool_3": np.full((4, 2048), np.nan, np.float32)}), ref, 4, "NaN")


def zip_of(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


# ---- prepared (packed) datasets ----

def packed_header(count, h, w, c=3, labels=0, images_offset=64, labels_offset=0, file_bytes=None):
    if file_bytes is None:
        file_bytes = 64 + count * h * w * c
    return (b"RPACKED\0" + struct.pack("<IIQIIIIQQQ", 1, 64, count, h, w, c, labels, images_offset,
                                      labels_offset, file_bytes % 2**64))


def manifest(count, shape, data_bytes, **over):
    m = {"format": "repro-packed", "format_version": 1, "count": count, "shape": shape,
         "has_labels": False, "data_bytes": data_bytes, "fingerprint": "0" * 64, "labels_sha256": "",
         "recipe": {}, "recipe_version": 1, "sources": []}
    m.update(over)
    return json.dumps(m).encode()


def packed():
    info = "data info {in}"
    export = "data export {in} --npz {out}/x.npz --limit 2"
    # 2^54 images of 32x32x3: 64 + 2^54*3072 wraps to 64 bytes, which once passed as "consistent".
    n = 2**54
    wrapped = {"packed.bin": packed_header(n, 32, 32, file_bytes=64 + n * 3072),
               "manifest.json": manifest(n, [n, 32, 32, 3], (64 + n * 3072) % 2**64)}
    case("packed_count_wraps", wrapped, info, 3, "overflows 64 bits")
    case("packed_count_wraps_export", wrapped, export, 3, "overflows 64 bits")
    case("packed_truncated", {"packed.bin": packed_header(2, 4, 4)[:64] + b"\0" * 10,
                              "manifest.json": manifest(2, [2, 4, 4, 3], 64 + 96)}, export, 3, "truncated")
    case("packed_bad_magic", {"packed.bin": b"NOTPACKD" + b"\0" * 56,
                              "manifest.json": manifest(0, [0, 4, 4, 3], 64)}, info, 3, "bad magic")
    case("packed_short_file", {"packed.bin": b"RPACK", "manifest.json": manifest(0, [0, 4, 4, 3], 64)}, info, 3, "shorter than the 64-byte header")
    case("packed_manifest_missing_key", {"packed.bin": packed_header(1, 4, 4) + b"\0" * 48,
                                         "manifest.json": b'{"format": "repro-packed"}'}, info, 3, "missing key 'format_version'")
    case("packed_manifest_not_json", {"packed.bin": packed_header(1, 4, 4) + b"\0" * 48,
                                      "manifest.json": b"{\"format\": [[[[" }, info, 3, "not valid JSON")
    case("packed_manifest_deep_json", {"packed.bin": packed_header(1, 4, 4) + b"\0" * 48,
                                       "manifest.json": b"[" * 20000 + b"]" * 20000}, info, 3, "missing key 'format'")
    case("packed_header_mismatch", {"packed.bin": packed_header(1, 4, 4) + b"\0" * 48,
                                    "manifest.json": manifest(2, [2, 4, 4, 3], 112)}, info, 3, "does not match")
    case("packed_no_manifest", {"packed.bin": packed_header(1, 4, 4) + b"\0" * 48}, info, 3, "no manifest.json")


# ---- images in a folder ----

def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(img):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def images():
    prep = "data prepare folder --source {in} --out {out}/prepared --size 8"
    skip = prep + " --skip-bad"
    small = Image.new("RGB", (8, 8), (10, 200, 30))
    # JPEG whose SOF0 claims 65000 x 65000: 12.7 GB once allocated before the first scanline.
    j = bytearray(jpeg_bytes(small))
    sof = j.find(b"\xff\xc0")
    j[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    case("img_jpeg_65000", {"a.jpg": bytes(j)}, prep, 4, "65000 x 65000")
    case("img_jpeg_65000_skip", {"a.jpg": bytes(j), "b.png": png_bytes(small)}, skip, 0, "skipped")
    # GIF with a 65535 x 65535 logical screen.
    g = io.BytesIO()
    small.save(g, "GIF")
    g = bytearray(g.getvalue())
    g[6:10] = struct.pack("<HH", 65535, 65535)
    case("img_gif_canvas_65535", {"a.gif": bytes(g)}, prep, 4, "65535 x 65535")
    case("img_png_1x1000000", {"a.png": png_bytes(Image.new("L", (1, 1000000)))}, prep, 4, "1 x 1000000")
    p = png_bytes(small)
    case("img_png_truncated", {"a.png": p[: len(p) // 2]}, prep, 3, "a.png")
    case("img_jpeg_truncated_header", {"a.jpg": jpeg_bytes(small)[:30]}, prep, 3, "a.jpg")
    case("img_webp_garbage", {"a.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\xff" * 20}, prep, 3, "a.webp")
    case("img_unknown_format", {"a.png": b"this is text, not an image"}, prep, 3, "a.png")
    case("img_empty_file", {"a.png": b""}, prep, 3, "a.png")
    case("img_png_zero_width", {"a.png": patch_ihdr(p, 0, 8)}, prep, 4, "image of 0 x 8 pixels is empty")


def patch_ihdr(png, w, h):
    b = bytearray(png)
    b[16:24] = struct.pack(">II", w, h)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    return bytes(b)


# ---- dataset sources ----

def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data, size in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    raw = gzip.decompress(buf.getvalue())
    for name, data, size in members:
        if size is not None:  # rewrite the octal size field of this member's header
            raw = bytearray(raw)
            at = raw.find(name.encode())
            raw[at + 124:at + 136] = b"%011o\0" % size
            chk = sum(raw[at:at + 148]) + 8 * 32 + sum(raw[at + 156:at + 512])
            raw[at + 148:at + 156] = b"%06o\0 " % chk
            raw = bytes(raw)
    return gzip.compress(raw, mtime=0)


def sources():
    cifar = "data prepare cifar10 --source {in} --out {out}/prepared"
    base = "cifar-10-batches-bin/"
    batches = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
    def cifar_tar(first, first_size=None):
        return tar_gz([(base + batches[0], first, first_size)] + [(base + b, b"\0" * 3073, None) for b in batches[1:]])
    # Sizes in the tar header are file claims: 8 GiB - 1 for a member holding 3,073 bytes.
    case("cifar_member_claims_8gb.tar.gz", cifar_tar(b"\0" * 3073, 2**33 - 1), cifar, 4, "tar header declares 8589934591 bytes")
    case("cifar_member_wrong_size.tar.gz", cifar_tar(b"\0" * 3074), cifar, 4, "not a whole number of 3073-byte records")
    case("cifar_not_gzip.tar.gz", b"plain text, not a tar.gz\n" * 4, cifar, 3, "cifar_not_gzip.tar.gz")
    case("cifar_empty_tar.tar.gz", tar_gz([]), cifar, 4, "no member data_batch_1.bin")

    fm = "data prepare fashion_mnist --source {in} --out {out}/prepared"
    idx_images = struct.pack(">IIII", 0x803, 2**31 - 1, 28, 28) + b"\0" * 784
    idx_labels = struct.pack(">II", 0x801, 2**31 - 1) + b"\0"
    case("idx_huge_count", {"train-images-idx3-ubyte.gz": gzip.compress(idx_images, mtime=0),
                            "train-labels-idx1-ubyte.gz": gzip.compress(idx_labels, mtime=0)}, fm, 4, "more than a gzip file of")
    case("idx_bad_magic", {"train-images-idx3-ubyte.gz": gzip.compress(b"\0\0\0\0" + idx_images[4:], mtime=0),
                           "train-labels-idx1-ubyte.gz": gzip.compress(idx_labels, mtime=0)}, fm, 3, "train-images-idx3-ubyte.gz")
    case("idx_huge_dims", {"train-images-idx3-ubyte.gz": gzip.compress(struct.pack(">IIII", 0x803, 1, 2**31 - 1, 2**31 - 1), mtime=0),
                           "train-labels-idx1-ubyte.gz": gzip.compress(struct.pack(">II", 0x801, 1) + b"\0", mtime=0)}, fm, 4, "[1, 2147483647, 2147483647]")

    im = "data prepare imagenet32 --source {in} --out {out}/prepared"
    def imagenet_dir(data, labels):
        bad = npz_bytes({"data": data, "labels": labels})
        good = npz_bytes({"data": np.zeros((2, 3072), np.uint8), "labels": np.ones(2, np.int64)})
        return {"train_data_batch_%d.npz" % i: bad if i == 1 else good for i in range(1, 11)}
    case("imagenet32_bad_shape", imagenet_dir(np.zeros((2, 3071), np.uint8), np.ones(2, np.int64)), im, 4, "train_data_batch_1.npz")
    case("imagenet32_label_count", imagenet_dir(np.zeros((2, 3072), np.uint8), np.ones(5, np.int64)), im, 4, "train_data_batch_1.npz")

    lsun = "data prepare lsun_tower --source {in} --out {out}/prepared"
    d = os.path.join(FILES, "lsun_bad_record")
    os.makedirs(d)
    env = lmdb.open(d, map_size=1 << 20, subdir=True)
    with env.begin(write=True) as txn:
        txn.put(b"0001", b"not an image at all")
    env.close()
    CASES.append({"name": "lsun_bad_record", "args": lsun, "exit": 3, "fragment": "0001"})
    d = os.path.join(FILES, "lsun_giant_webp")
    os.makedirs(d)
    # LSUN's values are WebP: a lossy VP8 frame header claiming 16383 x 16383 (268M pixels).
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "WEBP", quality=80)
    w = bytearray(buf.getvalue())
    start = w.find(b"\x9d\x01\x2a")
    assert start > 0, "expected a lossy VP8 frame"
    w[start + 3:start + 7] = struct.pack("<HH", 16383, 16383)
    env = lmdb.open(d, map_size=1 << 20, subdir=True)
    with env.begin(write=True) as txn:
        txn.put(b"0001", bytes(w))
    env.close()
    CASES.append({"name": "lsun_giant_webp", "args": lsun, "exit": 4, "fragment": "16383 x 16383"})
    case("lsun_not_lmdb", {"data.mdb": b"\0" * 4096}, lsun, 3, "lsun_not_lmdb")
    # A page liblmdb asserts on (abort) instead of returning an error; found by the fuzzer.
    with open(os.path.join(HERE, "../../fuzz/regressions/lsun_lmdb/crash-4045d752a856b313d7b19be1aad7df294c9d8628"), "rb") as f:
        case("lsun_assert_page", {"data.mdb": f.read()}, lsun, 3, "corrupt LMDB (liblmdb stopped with signal 6")


# ---- YAML: experiment files and model configs ----

def yamls():
    run = "run {in} --dry-run"
    head = "name: bomb\nbase:\n  model: {image_size: 32}\n"
    laughs = "".join("l%d: &l%d [%s]\n" % (i, i, ",".join(["*l%d" % (i - 1)] * 9) if i else ",".join(['"x"'] * 9)) for i in range(10))
    case("yaml_billion_laughs.yaml", ("name: laughs\nbase:\n  notes:\n" +
         "".join("    " + line + "\n" for line in laughs.splitlines()) + "matrix:\n  m: [{name: a}]\n").encode(),
         run, 2, "yaml_billion_laughs.yaml")
    case("yaml_self_merge.yaml", b"name: self\nbase: &b\n  <<: *b\n  model: {image_size: 32}\nmatrix:\n  m: [{name: a}]\n", run, 2, "yaml_self_merge.yaml")
    case("yaml_deep_flow.yaml", b"name: deep\nbase: " + b"[" * 100000 + b"]" * 100000 + b"\n", run, 2, "yaml_deep_flow.yaml")
    case("yaml_deep_block.yaml", ("name: deep\nbase:\n" + "".join(" " * (i + 2) + "k%d:\n" % i for i in range(300)) + "\n").encode(), run, 2, "yaml_deep_block.yaml")
    case("yaml_long_name.yaml", b"name: " + b"a" * 50000 + b"\nmatrix:\n  m: [{name: a}]\n", run, 2, "name")
    case("yaml_long_label.yaml", b"name: ok\nmatrix:\n  m: [{name: " + b"b" * 50000 + b"}]\n", run, 2, "yaml_long_label.yaml")
    case("yaml_binary.yaml", bytes(range(256)) * 4, run, 2, "yaml_binary.yaml")
    case("yaml_not_utf8.yaml", b"name: x\nbase:\n  data: {path: caf\xe9}\nmatrix:\n  m: [{name: a}]\n", run, 2, "not UTF-8")
    case("yaml_unknown_key.yaml", b"name: x\nbogus_key: 1\n", run, 2, "bogus_key")
    case("yaml_empty.yaml", b"", run, 2, "yaml_empty.yaml")
    case("yaml_tab_indent.yaml", b"name: x\nbase:\n\tmodel: 1\n", run, 2, "yaml_tab_indent.yaml")
    info = "model info --config {in}"
    case("model_negative_channels.yaml", b"model:\n  image_size: 32\n  num_channels: -64\n", info, 2, "num_channels")
    case("model_huge_int.yaml", b"model:\n  image_size: 99999999999999999999999999\n", info, 2, "image_size")
    case("model_deep.yaml", b"model: " + b"[" * 100000 + b"\n", info, 2, "model_deep.yaml")
    case("model_alias_loop.yaml", b"model: &m\n  <<: *m\n", info, 2, "model_alias_loop.yaml")


def good_files():
    g = os.path.join(FILES, "good")
    os.makedirs(g)
    np.save(os.path.join(g, "x.npy"), np.zeros((1, 3, 32, 32), np.float32))
    np.save(os.path.join(g, "t.npy"), np.zeros((1,), np.int64))
    np.savez(os.path.join(g, "samples.npz"), arr_0=np.zeros((4, 32, 32, 3), np.uint8))


def main():
    shutil.rmtree(FILES, ignore_errors=True)
    os.makedirs(FILES)
    good_files()
    checkpoints()
    npys()
    npzs()
    packed()
    images()
    sources()
    yamls()
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(CASES, f, indent=1)
        f.write("\n")
    print(len(CASES), "cases")


if __name__ == "__main__":
    main()
