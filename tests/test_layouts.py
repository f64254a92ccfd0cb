"""Tests of rae_fast.layouts: one parser per layout, detection, options, errors."""
from __future__ import annotations

import os

import numpy as np
import pytest

from rae_fast.preprocessing import FeatureSettings, preprocess
from rae_fast.dataset import MISSING, load
from rae_fast.layouts import (
    PARSERS,
    detect_parser,
    escape_filename,
    get_parser,
    parse_dataset,
    unescape_filename,
)

LAYOUTS = ["esc", "esc50", "dcase", "urbansound8k", "partitioned", "cross_validated",
           "class_folders", "no_metadata"]
N_FOLDS = {"esc": 5, "esc50": 5, "dcase": 4, "urbansound8k": 10, "cross_validated": 4}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_is_detected_and_parsed(make_collection, layout):
    labels = ("dog", "car", "bird")
    root, rows = make_collection(layout, labels=labels, per_label=5, duration=0.3)
    assert detect_parser(root) == layout
    ds = parse_dataset(root)
    assert ds.parser == layout
    by_name = {r["filename"]: r for r in rows}
    assert sorted(i.filename for i in ds.instances) == sorted(by_name)
    assert len(ds.instances) == 15
    for inst in ds.instances:
        row = by_name[inst.filename]
        assert inst.path == (root / inst.filename).absolute() and inst.path.is_file()
        assert inst.label_nominal == row["label"]
        if row["fold"] is not None:
            expected_k = N_FOLDS[layout]
            if layout in ("esc50", "urbansound8k"):  # as many folds as the csv uses
                expected_k = max(r["fold"] for r in rows)
            assert len(inst.cv_folds) == ds.n_folds == expected_k
            assert inst.cv_folds[row["fold"] - 1] == 1 and sum(inst.cv_folds) == 1
        else:
            assert inst.cv_folds == () and ds.n_folds == 0
        expected_part = {"train": 0, "devel": 1, "test": 2}.get(row["partition"], MISSING)
        assert inst.partition == expected_part
    if layout == "no_metadata":
        assert ds.label_map is None
    elif layout in ("esc",):
        assert ds.label_map == {"dog": 0, "car": 1, "bird": 2}  # folder (NNN) order, as auDeep
    elif layout in ("esc50", "urbansound8k"):
        assert ds.label_map == {"dog": 0, "car": 1, "bird": 2}  # the data set's own ids
    else:
        assert ds.label_map == {"bird": 0, "car": 1, "dog": 2}  # sorted by name
    names = [i.filename for i in ds.instances]
    assert names == [i.filename for i in parse_dataset(root, layout).instances]  # stable


def test_esc_layout_ignores_top_level_files(make_collection):
    root, _ = make_collection("esc", per_label=2, duration=0.2)
    (root / "README.txt").write_text("ESC")
    (root / "meta.xlsx").write_bytes(b"xx")
    assert detect_parser(root) == "esc"


def test_several_specific_layouts_match_is_an_error(make_collection, write_audio):
    root, _ = make_collection("partitioned", per_label=3, duration=0.2)
    write_audio(root / "fold_1" / "cat" / "a.wav", duration=0.2)
    write_audio(root / "fold_2" / "cat" / "b.wav", duration=0.2)
    with pytest.raises(ValueError, match="several.*partitioned.*cross_validated"):
        detect_parser(root)
    assert parse_dataset(root, "partitioned").parser == "partitioned"
    assert len(parse_dataset(root, "cross_validated").instances) == 2


def test_nothing_matches_lists_reasons(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError) as err:
        detect_parser(tmp_path)
    msg = str(err.value)
    for name in PARSERS:
        assert f"{name}:" in msg
    with pytest.raises(FileNotFoundError):
        parse_dataset(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        parse_dataset(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="unknown parser"):
        parse_dataset(tmp_path, "esc100")
    with pytest.raises(ValueError, match="esc.*cannot read"):
        parse_dataset(tmp_path, "esc")


def test_generic_layouts_are_fallbacks(make_collection, write_audio):
    root, _ = make_collection("class_folders", per_label=2, duration=0.2)
    assert detect_parser(root) == "class_folders"
    write_audio(root / "loose.wav", duration=0.2)  # audio outside class folders
    assert detect_parser(root) == "no_metadata"
    assert len(parse_dataset(root).instances) == 7


def test_audeep_parser_names_are_accepted(make_collection):
    root, _ = make_collection("esc", per_label=2, duration=0.2)
    assert get_parser("audeep.backend.parsers.esc.ESCParser", root).name == "esc"
    assert parse_dataset(root, "audeep.backend.parsers.meta.MetaParser").parser == "esc"
    assert get_parser("NoMetadataParser", root).name == "no_metadata"


@pytest.mark.parametrize("layout", ["esc", "partitioned", "cross_validated", "class_folders",
                                    "no_metadata"])
def test_folder_layouts_read_other_extensions(make_collection, layout):
    """extensions={".obj"}: the same layout rules, other files (audio ones are then ignored)."""
    root, rows = make_collection(layout, per_label=3, duration=0.2)
    audio = parse_dataset(root)
    for r in rows:                                  # an .obj next to every audio file
        (root / r["filename"]).with_suffix(".obj").write_text("# mesh\n")
    (root / rows[0]["filename"]).with_suffix(".npy").write_bytes(b"other")
    assert detect_parser(root, extensions={".obj"}) == layout
    for exts in ({".obj"}, ["OBJ"], "obj"):
        objs = parse_dataset(root, extensions=exts)
        assert objs.parser == layout and objs.n_folds == audio.n_folds
        assert objs.label_map == audio.label_map
        assert len(objs.instances) == len(audio.instances) == len(rows)
        for a, o in zip(audio.instances, objs.instances):
            assert o.path == a.path.with_suffix(".obj") and o.filename.endswith(".obj")
            assert (o.label_nominal, o.cv_folds, o.partition) == \
                (a.label_nominal, a.cv_folds, a.partition)
    both = parse_dataset(root, layout, extensions={".obj", ".npy"})
    assert len(both.instances) == len(rows) + 1
    assert parse_dataset(root).instances == audio.instances          # default: audio only


def test_extensions_messages_and_errors(make_collection, tmp_path):
    root, _ = make_collection("esc", per_label=2, duration=0.2)
    with pytest.raises(ValueError, match="class folder .* has no .obj files"):
        parse_dataset(root, "esc", extensions={".obj"})
    with pytest.raises(ValueError, match="no .obj files below the folder"):
        parse_dataset(root, "no_metadata", extensions={".obj"})
    for layout in ("esc50", "dcase", "urbansound8k"):
        meta_root, _ = make_collection(layout, per_label=2, duration=0.2)
        assert parse_dataset(meta_root, layout).parser == layout
        with pytest.raises(ValueError, match=f"{layout}.*metadata lists audio files"):
            parse_dataset(meta_root, layout, extensions={".obj"})
    with pytest.raises(ValueError, match="empty"):
        parse_dataset(root, extensions=[])
    with pytest.raises(TypeError, match="extensions"):
        parse_dataset(root, extensions=[3])
    with pytest.raises(ValueError, match="not a file name extension"):
        parse_dataset(root, extensions={"a/b"})


@pytest.mark.parametrize("k, seed", [(2, 0), (3, 1), (5, 2)])
def test_class_folders_stratified_folds(make_collection, k, seed):
    root, rows = make_collection("class_folders", labels=("a", "b", "c", "d"), per_label=6,
                                 duration=0.2)
    ds = parse_dataset(root, "class_folders", n_folds=k, seed=seed)
    assert ds.n_folds == k
    folds = np.array([i.cv_folds for i in ds.instances])
    assert folds.shape == (24, k) and np.all(folds.sum(axis=1) == 1)
    labels = np.array([i.label_nominal for i in ds.instances])
    for lab in "abcd":
        per = folds[labels == lab].sum(axis=0)
        assert per.max() - per.min() <= 1
    assert parse_dataset(root, "class_folders").n_folds == 0
    with pytest.raises(ValueError, match="n_folds"):
        parse_dataset(root, "class_folders", n_folds=1)
    with pytest.raises(TypeError, match="no option"):
        parse_dataset(root, "class_folders", folds=3)
    with pytest.raises(TypeError, match="no option"):
        parse_dataset(root, "esc", n_folds=3)


def test_esc50_subset_option(make_collection):
    root, rows = make_collection("esc50", labels=("dog", "car", "bird", "rain"), per_label=2,
                                 duration=0.2)
    full = parse_dataset(root, "esc50")
    sub = parse_dataset(root, "esc50", esc10=True)  # targets 0 and 2 are flagged esc10
    assert len(full.instances) == 8 and len(sub.instances) == 4
    assert sub.label_map == {"bird": 0, "dog": 1}


def test_dcase_evaluate_lists_and_missing_labels(make_collection):
    root, rows = make_collection("dcase", per_label=4, duration=0.2)
    setup = root / "evaluation_setup"
    # fold 1 evaluates only two files explicitly: the others outside train are MISSING
    valid = [r["filename"] for r in rows if r["fold"] == 1]
    (setup / "fold1_evaluate.txt").write_text("".join(f"{f}\n" for f in valid[:2]))
    meta = (root / "meta.txt").read_text().splitlines()
    meta[0] = meta[0].split("\t")[0]  # an unlabelled line
    (root / "meta.txt").write_text("\n".join(meta) + "\n")
    ds = parse_dataset(root)
    by = {i.filename: i for i in ds.instances}
    assert [by[f].cv_folds[0] for f in valid] == [1, 1] + [MISSING] * (len(valid) - 2)
    assert by[meta[0]].label_nominal is None
    (root / "meta.txt").write_text(meta[1] + "\n" + meta[1] + "\n")
    with pytest.raises(ValueError, match="twice"):
        parse_dataset(root)


def test_csv_errors_are_clear(make_collection):
    root, _ = make_collection("urbansound8k", per_label=2, duration=0.2)
    csv = root / "metadata" / "UrbanSound8K.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0].replace("classID", "klass")] + lines[1:]))
    with pytest.raises(ValueError, match="UrbanSound8K.csv.*classID"):
        parse_dataset(root)
    parts = lines[1].split(",")
    parts[6] = "7"  # same class, another id
    csv.write_text("\n".join([lines[0], lines[1], ",".join(parts)]))
    with pytest.raises(ValueError, match="ids"):
        parse_dataset(root)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_preprocess_every_layout(tmp_path, make_collection, layout):
    """End to end: the stored set carries the layout's labels, folds, partitions, chunks."""
    root, rows = make_collection(layout, per_label=3, duration=0.6, sr=8000,
                                 channels=2 if layout == "partitioned" else 1)
    s = FeatureSettings(window_width=0.05, window_overlap=0.025, mel_bands=20,
                        chunk_length=0.2, chunk_count=2)
    out = tmp_path / f"{layout}.nc"
    res = preprocess(root, out, s, workers=2, progress=False)
    ds = load(out)
    parsed = parse_dataset(root)
    assert res.n_instances == len(ds) == 2 * len(rows)
    assert ds.feature_dims == ("time", "freq") and ds.feature_shape == (8, 20)
    assert ds.chunk_nr.tolist() == [0, 1] * len(rows)
    assert ds.n_folds == parsed.n_folds and ds.label_map == parsed.label_map
    for j, inst in enumerate(parsed.instances):
        for c in range(2):
            i = 2 * j + c
            assert ds.filenames[i] == inst.filename
            assert ds.label_nominal[i] == inst.label_nominal
            assert tuple(ds.cv_folds[i]) == inst.cv_folds
            assert ds.partition[i] == inst.partition
    assert ds.is_labelled == (layout != "no_metadata")
    assert float(ds.features.min()) == -1.0 and float(ds.features.max()) == 1.0


# --------------------------------------------------------------- names that are not UTF-8

def test_escape_filename_is_lossless_and_leaves_utf8_names_alone():
    import random

    latin1 = os.fsdecode(b"caf\xe9.wav")
    assert escape_filename(latin1) == "caf\\xe9.wav"
    assert os.fsencode(unescape_filename("caf\\xe9.wav")) == b"caf\xe9.wav"
    for name in ("café.wav", "a b/c-d.ogg", "back\\slash.wav", "日本語.flac", "end\\"):
        assert escape_filename(name) == name
    # a literal backslash that would read as an escape is doubled, and comes back
    assert escape_filename("a\\xe9.wav") == "a\\\\xe9.wav"
    assert escape_filename("a\\" + os.fsdecode(b"\xff")) == "a\\\\\\xff"
    rng = random.Random(0)
    alphabet = ["a", "\\", "x", "u", "e", "9", "d", "8", "é", "/", "\udce9", "\udc80", "\ud800"]
    for _ in range(20000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        text = escape_filename(name)
        text.encode("utf-8")                        # always valid UTF-8
        assert unescape_filename(text) == name


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_parsers_store_escaped_names_and_labels(tmp_path, write_audio):
    root = tmp_path / "coll"
    for label in (b"caf\xe9", b"tea"):
        os.makedirs(os.fsencode(root) + b"/" + label)
        for i in range(2):
            plain = write_audio(root / "tmp.wav", duration=0.2, sr=8000, seed=i)
            os.rename(plain, os.fsencode(root) + b"/" + label + b"/" + b"n%d\xff.wav" % i)
    ds = parse_dataset(root)
    assert ds.parser == "class_folders" and ds.label_map == {"caf\\xe9": 0, "tea": 1}
    names = sorted(i.filename for i in ds.instances)
    assert names == ["caf\\xe9/n0\\xff.wav", "caf\\xe9/n1\\xff.wav", "tea/n0\\xff.wav",
                     "tea/n1\\xff.wav"]
    for inst in ds.instances:
        assert inst.path.is_file()                  # the real path still opens
        assert inst.path == (root / unescape_filename(inst.filename)).absolute()
