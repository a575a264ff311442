"""The ``hbclf`` command: predict, segment, train, info.

    hbclf predict recording.wav [more.wav | folder/ ...] [--model DIR] [--format table|json|csv]
    hbclf segment recording.wav [...] [--beats] [--plot out.png] [--format table|json|csv]
    hbclf train --task heart|all|a|b|binary|physionet --model NAME --out DIR [--no-calibrate]
                [--augment] [--n-jobs N]
    hbclf info [--model DIR]
    hbclf --version

Each file that cannot be used gives one line on stderr naming it and the
cause; the other files are still processed and the exit status is 1 (2 for
usage errors). Heavy libraries are imported only by the commands that need
them: ``hbclf --help`` and ``hbclf info`` never start TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _walk(paths):
    """Files named, and the audio files inside folders named (sorted)."""
    from .io import AUDIO_EXTENSIONS

    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                yield _EmptyFolder(p)  # reported as an error by the reader
            yield from found
        else:
            yield p


class _EmptyFolder(type(Path())):
    """A folder named on the command line that holds no audio file."""


def _err(msg):
    print(f"hbclf: {msg}", file=sys.stderr)


def _recordings(files, failures):
    """``(path, waveform, rate)`` of each readable file; the others are reported and
    appended to ``failures``."""
    from .io import AUDIO_EXTENSIONS, AudioError, load_audio

    for f in files:
        if isinstance(f, _EmptyFolder):
            _err(f"{f}: folder holds no audio file ({', '.join(AUDIO_EXTENSIONS)})")
            failures.append(f)
            continue
        try:
            y, sr = load_audio(f)
        except AudioError as exc:
            _err(str(exc))
            failures.append(f)
            continue
        yield f, y, sr


def _emit(rows, fmt, columns):
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return
    if fmt == "csv":
        import csv

        w = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v)
                        for k, v in r.items()})
        return
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        print("  ".join(_cell(r.get(c)).ljust(widths[c]) for c in columns).rstrip())


def _cell(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if v < 10 else f"{v:.0f}"
    if isinstance(v, list):
        return " ".join(f"{x:.2f}" for x in v)
    return str(v)


def cmd_predict(args):
    from .heartbeat import detect
    from .io import AudioError
    from .model_files import load_model, load_novelty
    from .novelty import gate_end

    pipe, card = load_model(args.model)
    novelty, end = load_novelty(args.model), gate_end(pipe)
    classes = [str(c) for c in card["classes"]]
    rows, failed = [], []
    for f, y, sr in _recordings(_walk(args.files), failed):
        try:  # a model's own checks (e.g. a longer minimum duration) name the file too
            # the features once: what the novelty gate measures, then what the classifier reads
            g = pipe[:end].transform([y])
            z = pipe[end:-1].transform(g) if end < len(pipe) - 1 else g
            proba = pipe[-1].predict_proba(z)
            decide = getattr(pipe[-1], "predict_from_proba", None)  # saves a second pass
            guess = str((decide(proba) if decide else pipe[-1].predict(z))[0])
            proba = proba[0]
            novel = novelty is not None and bool(novelty.is_novel(g)[0])
        except AudioError as exc:
            _err(f"{f}: {exc.reason}")
            failed.append(f)
            continue
        beats = detect(y, sr)
        # no heart rhythm (a tone, a hum, noise, silence) means no heart sounds to classify,
        # whatever the classifier says: its rhythm and cycle features are only imputed there.
        # Otherwise the class is the model's decision (a calibrated model divides by the class
        # frequencies), not necessarily the largest probability
        label = "uncertain" if novel else "artifact" if not beats.detected else guess
        flag = ""
        if novel:
            flag = "unlike every recording the model was trained on: no class is trustworthy"
        elif label == "artifact":
            flag = "looks like an artifact: record again"
        if not beats.detected:
            flag = "; ".join(filter(None, [flag, f"heartbeat not detected ({beats.reason})"]))
        rows.append({"file": str(f), "prediction": label,
                     **{f"p_{c}": round(float(p), 4) for c, p in zip(classes, proba)},
                     "heart_rate": None if beats.heart_rate is None
                     else round(beats.heart_rate, 1),
                     "quality": flag or "ok"})
    if rows:
        cols = ["file", "prediction", *[f"p_{c}" for c in classes], "heart_rate", "quality"]
        if args.format == "json":
            rows = {"model": card.get("model"), "task": card.get("task"), "results": rows}
            print(json.dumps(rows, indent=2))
        else:
            _emit(rows, args.format, cols)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_segment(args):
    import numpy as np

    from .heartbeat import detect

    files = list(_walk(args.files))
    if args.plot and len(files) != 1:
        _err("--plot takes exactly one recording")
        return EXIT_USAGE
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        _err(f"--plot {args.plot}: folder {Path(args.plot).resolve().parent} does not exist")
        return EXIT_USAGE
    rows, failed, plots = [], [], []
    for f, y, sr in _recordings(files, failed):
        beats = detect(y, sr)
        found = beats.as_dict()
        if args.beats:  # one row per heartbeat: an hour of audio is thousands of rows, not one line
            s2 = np.asarray(found["s2"])
            after = np.searchsorted(s2, found["s1"], side="right")  # each beat's next S2
            rows += [{"file": str(f), "beat": i + 1, "s1": s1,
                      "s2": float(s2[k]) if k < len(s2) else None}
                     for i, (s1, k) in enumerate(zip(found["s1"], after))]
        else:
            s1 = found.pop("s1")
            found.pop("s2")
            rows.append({"file": str(f), "duration": round(len(y) / sr, 2), "beats": len(s1),
                         **found})
        if args.plot:
            plots.append((y, sr, beats, Path(f).name))
    if rows:
        cols = (["file", "beat", "s1", "s2"] if args.beats else
                ["file", "duration", "beats", "heart_rate", "quality", "confidence", "detected",
                 "reason"])
        _emit(rows, args.format, cols)
    for y, sr, beats, name in plots:  # after the table: a failed plot never drops it
        from .display import plot_heartbeats

        plot_heartbeats(y, sr, beats, title=name, path=args.plot)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_train(args):
    from .model_files import train

    card = train(args.task, args.model, args.out, cv=args.cv, seed=args.seed,
                 data_home=args.data_home,
                 physionet_home=args.physionet_home,
                 calibrate=args.calibrate, augment=args.augment, n_jobs=args.n_jobs,
                 log=lambda m: print(m, file=sys.stderr))
    print(f"saved {card['model']} ({card['task']}) to {args.out}")
    return EXIT_OK


def cmd_info(args):
    from .model_files import default_model_path, read_card

    path = args.model or default_model_path()
    card = read_card(path)
    if args.format == "json":
        print(json.dumps(card, indent=2))
        return EXIT_OK
    td, cv = card.get("training_data", {}), card.get("cv", {})
    print(f"model      {card.get('model')} ({path})")
    print(f"task       {card.get('task')}: classes {', '.join(card['classes'])}")
    if td:
        print(f"trained on {td.get('recordings')} recordings: {td.get('dataset')} "
              f"({td.get('groups')} groups), read at {td.get('rate_hz')} Hz")
        print("per class  " + ", ".join(f"{k} {v}" for k, v in td.get("per_class", {}).items()))
        if card.get("augment"):
            print("augmented  one device-augmented copy of every recording joined the training "
                  "data (hbclf.augment)")
    for step in card.get("steps", []):
        print(f"step       {step}")
    evaluation = card.get("evaluation", {}).get("protocols")
    if evaluation:  # every protocol, overall and per database
        for protocol, ev in evaluation.items():
            s = ev["scores"]
            print(f"scores     {protocol}: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items())
                  + ("" if ev.get("ece") is None else f"; calibration error {ev['ece']:.3f}"))
            for origin, o in ev.get("per_origin", {}).items():
                print(f"           {origin} ({o['n']}): "
                      + ", ".join(f"{k} {v:.3f}" for k, v in o.items() if k != "n"))
    elif cv:
        s = cv.get("scores", {})
        print(f"scores     {cv.get('protocol')}: {cv.get('scheme')}")
        print("           " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()))
    for line in card.get("not_for", []):
        print(f"not for    {line}")
    novelty = card.get("novelty")
    if novelty:
        print(f"uncertain  beyond novelty {novelty['threshold']}: {novelty['measure']}")
    print("versions   " + ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items()))
    return EXIT_OK


def _n_jobs(text):
    """``--n-jobs``: a whole number of processes, -1 (or below) counting back from every core."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1 or more, "
                                         "or -1 for every core)")
    return n


def build_parser(*, model_names=None):
    """The argument parser; ``model_names`` are listed in ``train --help`` when given
    (importing the registry costs a second, so only ``train`` asks for them)."""
    from . import __version__

    p = argparse.ArgumentParser(prog="hbclf", description="Heart-sound classification and "
                                "heartbeat detection.")
    p.add_argument("--version", action="version", version=f"hbclf {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    fmt = dict(choices=("table", "json", "csv"), default="table", help="output format")

    s = sub.add_parser("predict", help="classify recordings (files or folders)")
    s.add_argument("files", nargs="+")
    s.add_argument("--model", help="model folder (default: the shipped model)")
    s.add_argument("--format", **fmt)
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("segment", help="S1/S2 times and heart rate")
    s.add_argument("files", nargs="+")
    s.add_argument("--plot", help="write a PNG of waveform, envelope and beats (one file)")
    s.add_argument("--beats", action="store_true",
                   help="one row per heartbeat (S1 and the S2 after it, in seconds) instead of "
                   "one summary row per recording")
    s.add_argument("--format", **fmt)
    s.set_defaults(func=cmd_segment)

    s = sub.add_parser("train", help="fit a model on every labelled recording of a task")
    from .tasks import names as task_names

    s.add_argument("--task", choices=task_names(), default="heart",
                   help="see hbclf.tasks (default: heart, PASCAL A+B and PhysioNet 2016, "
                   "normal vs abnormal)")
    s.add_argument("--model", default="et_cycles_experts", metavar="NAME",
                   choices=model_names, help="a registry model (default: et_cycles_experts, the "
                   "shipped model's): " + (
                       ", ".join(model_names) if model_names else "see hbclf.pipelines.names()"))
    s.add_argument("--out", required=True, help="model folder to write")
    s.add_argument("--cv", type=int, default=5, help="grouped folds for the card's scores")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-home", help="a full PASCAL copy instead of the embedded one")
    s.add_argument("--physionet-home", help="the PhysioNet 2016 folder (tasks physionet and "
                   "heart; default: $HBCLF_PHYSIONET, else the data home where "
                   "hbclf.datasets.fetch_physionet2016 puts it, else ../shared beside a clone)")
    s.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="keep the classifier's own probabilities (default: calibrated on "
                   "grouped folds)")
    s.add_argument("--augment", action="store_true",
                   help="add one device-augmented copy of every recording to the training data "
                   "(hbclf.augment: band limits, equaliser, gain, noise, speed)")
    s.add_argument("--n-jobs", type=_n_jobs, default=-1, metavar="N",
                   help="processes for the features and the card's folds (default -1: every "
                   "core; the model is the same whatever it is)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("info", help="what a model is and how it scored")
    s.add_argument("--model", help="model folder (default: the shipped model)")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=cmd_info)
    return p


def main(argv=None):
    """Run the command; returns the exit status."""
    # the command line is the place for process-wide defaults, never the library
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = sys.argv[1:] if argv is None else list(argv)
    names = None
    if argv[:1] == ["train"]:
        from .pipelines import names as registry

        names = registry()
    args = build_parser(model_names=names).parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:  # ModelFileError, AudioError, LayoutError, ...
        _err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
