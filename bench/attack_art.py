#!/usr/bin/env python3
"""Query-only evasion attacks side by side: `moat attack` against IBM's Adversarial
Robustness Toolbox (ART) on the same ONNX models, the same samples and the same budgets.

    python3 -m venv /tmp/venv
    /tmp/venv/bin/pip install numpy scikit-learn skl2onnx onnx onnxruntime adversarial-robustness-toolbox
    cargo build --release -p moat
    /tmp/venv/bin/python bench/attack_art.py [path/to/moat] [--quick] [--only digits/logreg]

`--quick` attacks 20 samples per model instead of 100; `--only TEXT` keeps the models whose
`dataset/model` name contains TEXT.

Models: logistic regression, an MLP and a random forest trained on three data sets that ship
inside scikit-learn (digits: 8x8 images, 64 features; breast cancer: 30 features; wine: 13
features), every feature scaled into [0, 1], exported with skl2onnx (probabilities as a
plain tensor). Digits models take images `[n, 1, 8, 8]` (a Reshape node is put in front of
the exported graph) so that Square Attack can use square windows on both sides.

Samples: 100 rows the model classifies correctly, drawn with a fixed seed from the rows it
was not trained on (wine has only 54 such rows: they are all used).

HopSkipJump, L2, untargeted, budgets 1,000 and 5,000 queries per sample: moat runs its own
command (`--attack hop-skip-jump --norm l2 --max-queries N`, one process for all samples);
ART runs `HopSkipJump(norm=2)` through a `BlackBoxClassifier` whose predict function calls
onnxruntime. One query is one row evaluated, on both sides: the wrapper counts every row
ART sends and stops the attack of a sample when its budget is spent. ART is given the same
starting point moat chooses (the nearest attacked sample the model puts in another class,
via `x_adv_init`; with its own random starts it finds nothing on most tabular rows) and the
wrapper keeps the best misclassified point among every row ART queried, so ART gets anytime
credit that its own API does not give. Success is any misclassified point inside [0, 1]; median L2 is over
the samples both tools broke (and, in its own column, over every sample a tool broke).

Square Attack, Linf, epsilon 0.1, budgets 1,000 and 5,000: ART applies to images only
(it refuses inputs that are not `[n, c, h, w]`), so the comparison is on digits; moat's
figures for the tabular sets are printed too.

Timing: wall time of the whole moat command (model load included) on all cores and CPU
time (user + system) of its process; ART's wall and CPU time in this process, one core.
Every adversarial point either tool returns is checked here with onnxruntime: it must be
misclassified, inside [0, 1], and (Square) within epsilon.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, TensorProto
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler

from art.attacks.evasion import HopSkipJump, SquareAttack
from art.estimators.classification import BlackBoxClassifier, BlackBoxClassifierNeuralNetwork

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
argv = sys.argv[1:]
ONLY = argv[argv.index("--only") + 1] if "--only" in argv else ""
args = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--only")]
QUICK = "--quick" in argv
MOAT = args[0] if args else os.path.join(target, "release", "moat")
N_SAMPLES = 20 if QUICK else 100
BUDGETS = [1000, 5000]
SQUARE_EPS = 0.1
SEED = 0


class BudgetSpent(Exception):
    pass


def datasets():
    d = load_digits()
    yield "digits", d.data / 16.0, d.target, (1, 8, 8)
    for name, loader in [("breast_cancer", load_breast_cancer), ("wine", load_wine)]:
        b = loader()
        yield name, b.data, b.target, None


def models():
    return [
        ("logreg", lambda: LogisticRegression(max_iter=5000, C=10.0)),
        ("mlp", lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=2000, random_state=SEED)),
        ("forest", lambda: RandomForestClassifier(n_estimators=50, max_depth=8, random_state=SEED)),
    ]


def export(model, d, image):
    """skl2onnx export, probabilities as a tensor; images get a Reshape in front."""
    onx = to_onnx(model, np.zeros((1, d), dtype=np.float32), options={id(model): {"zipmap": False}},
                  target_opset=17)
    if image is None:
        return onx.SerializeToString()
    g = onx.graph
    old = g.input[0].name
    g.input.remove(g.input[0])
    g.input.insert(0, helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, *image]))
    g.initializer.append(helper.make_tensor("flat_shape", TensorProto.INT64, [2], [-1, d]))
    g.node.insert(0, helper.make_node("Reshape", ["image", "flat_shape"], [old]))
    onnx.checker.check_model(onx)
    return onx.SerializeToString()


class Session:
    def __init__(self, path):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.inp = self.s.get_inputs()[0].name
        outs = self.s.get_outputs()
        self.out = next(o.name for o in outs if "prob" in o.name) if len(outs) > 1 else outs[0].name

    def probs(self, x):
        return self.s.run([self.out], {self.inp: x.astype(np.float32)})[0]


class Counted:
    """The black box ART sees: counts rows, stops at the budget, keeps the best adversarial."""

    def __init__(self, sess, budget):
        self.sess, self.budget = sess, budget
        self.reset(None, None)

    def reset(self, x0, label):
        self.x0, self.label, self.used = x0, label, 0
        self.best, self.best_q, self.trace = None, 0, []

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        if self.x0 is None:
            return self.sess.probs(x)
        room = self.budget - self.used
        rows = x[:room]
        p = self.sess.probs(rows)
        for i, row in enumerate(rows):
            self.used += 1
            if int(np.argmax(p[i])) != self.label and row.min() >= 0 and row.max() <= 1:
                dist = float(np.linalg.norm(row.ravel() - self.x0))
                if self.best is None or dist < self.best:
                    self.best, self.best_q = dist, self.used
                    self.trace.append((self.used, dist))
        if len(rows) < len(x):
            raise BudgetSpent()
        return p


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_moat(model, xs, ys, attack, norm, budget, eps=None):
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), xs.astype(np.float32))
        np.save(os.path.join(tmp, "y.npy"), ys.astype(np.int64))
        out = os.path.join(tmp, "r.json")
        cmd = [MOAT, "attack", "--model", model, "--samples", os.path.join(tmp, "x.npy"),
               "--labels", os.path.join(tmp, "y.npy"), "--attack", attack, "--norm", norm,
               "--max-queries", str(budget), "--seed", str(SEED), "--format", "json", "-o", out]
        if eps is not None:
            cmd += ["--epsilon", str(eps)]
        c0, t0 = child_cpu(), time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall, used = time.perf_counter() - t0, child_cpu() - c0
        if p.returncode != 0:
            raise SystemExit(f"moat failed: {' '.join(cmd)}\n{p.stderr}")
        rep = json.load(open(out))
    return rep, wall, used


def nearest_other(sess, xs, pool):
    """The starting point moat uses: the nearest pool row the model puts in another class."""
    pool_pred = np.argmax(sess.probs(pool), axis=1)
    flat = pool.reshape(len(pool), -1)
    starts = []
    for x, label in zip(xs, np.argmax(sess.probs(xs), axis=1)):
        other = flat[pool_pred != label]
        i = np.argmin(((other - x.reshape(-1)) ** 2).sum(axis=1))
        starts.append(other[i].reshape(x.shape))
    return np.stack(starts).astype(np.float32)


def art_hsj(sess, xs, ys, budget, shape, nb, starts):
    box = Counted(sess, budget)
    clf = BlackBoxClassifier(box, shape, nb, clip_values=(0.0, 1.0))
    res = []
    c0, t0 = cpu(), time.perf_counter()
    for i in range(len(xs)):
        box.reset(xs[i].reshape(-1), int(ys[i]))
        attack = HopSkipJump(clf, norm=2, max_iter=10_000, max_eval=10_000, init_eval=100, verbose=False)
        try:
            attack.generate(xs[i : i + 1], x_adv_init=starts[i : i + 1])
        except BudgetSpent:
            pass
        res.append((box.best, box.best_q))
    return res, time.perf_counter() - t0, cpu() - c0


def art_square(sess, xs, ys, budget, shape, nb):
    # ART's loop asks again for rows it has already seen (the accepted points and their
    # losses, every iteration): a cache answers those, and only new rows count as queries.
    cache, counter = {}, {"rows": 0}

    def predict(x):
        x = np.asarray(x, dtype=np.float32)
        keys = [r.tobytes() for r in x]
        miss = [i for i, k in enumerate(keys) if k not in cache]
        if miss:
            counter["rows"] += len(miss)
            for i, p in zip(miss, sess.probs(x[miss])):
                cache[keys[i]] = p
        return np.stack([cache[k] for k in keys])

    clf = BlackBoxClassifierNeuralNetwork(predict, shape, nb, clip_values=(0.0, 1.0))
    # New rows per sample: the clean check, the initial stripes, then one per iteration.
    attack = SquareAttack(clf, norm=np.inf, eps=SQUARE_EPS, max_iter=budget - 2, nb_restarts=1,
                          batch_size=128, verbose=False)
    c0, t0 = cpu(), time.perf_counter()
    adv = attack.generate(xs.astype(np.float32), y=ys)
    wall, used = time.perf_counter() - t0, cpu() - c0
    pred = np.argmax(sess.probs(adv), axis=1)
    linf = np.abs(adv - xs).reshape(len(xs), -1).max(axis=1)
    ok = (pred != ys) & (linf <= SQUARE_EPS + 1e-6) & (adv.min() >= -1e-6) & (adv.max() <= 1 + 1e-6)
    return ok, wall, used, counter["rows"] / len(xs)


def verify_moat(sess, rep, xs, ys, eps=None, norm="l2"):
    """Every point moat calls a success must be one: misclassified, in bounds, within eps."""
    for s in rep["per_sample"]:
        if not s["success"]:
            continue
        adv = np.asarray(s["adv"], dtype=np.float32).reshape(xs.shape[1:])
        i = s["index"]
        assert int(np.argmax(sess.probs(adv[None])[0])) != int(ys[i]), f"sample {i} not misclassified"
        assert adv.min() >= 0 and adv.max() <= 1, f"sample {i} out of bounds"
        d = adv.reshape(-1) - xs[i].reshape(-1)
        dist = np.abs(d).max() if norm == "linf" else np.linalg.norm(d)
        if eps is not None:
            assert dist <= eps * (1 + 1e-5) + 1e-6, f"sample {i} beyond epsilon: {dist}"


def med(v):
    return float(np.median(v)) if len(v) else float("nan")


def main():
    rows_hsj, rows_sq = [], []
    for ds, x, y, image in datasets():
        x = MinMaxScaler().fit_transform(x).astype(np.float32)
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=SEED, stratify=y)
        nb = int(y.max()) + 1
        shape = image if image else (x.shape[1],)
        for mname, make in models():
            if ONLY not in f"{ds}/{mname}":
                continue
            m = make().fit(xtr, ytr)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, f"{ds}_{mname}.onnx")
                open(path, "wb").write(export(m, x.shape[1], image))
                sess = Session(path)
                shaped = lambda a: a.reshape(len(a), *shape)
                pred = np.argmax(sess.probs(shaped(xte)), axis=1)
                correct = np.flatnonzero(pred == yte)
                rng = np.random.default_rng(SEED)
                pick = np.sort(rng.permutation(correct)[:N_SAMPLES])
                xs, ys = shaped(xte[pick]), yte[pick]
                starts = nearest_other(sess, xs, xs)
                for budget in BUDGETS:
                    rep, mw, mc = run_moat(path, xs, ys, "hop-skip-jump", "l2", budget)
                    verify_moat(sess, rep, xs, ys)
                    art, aw, ac = art_hsj(sess, xs, ys, budget, shape, nb, starts)
                    m_l2 = {s["index"]: s["l2"] for s in rep["per_sample"] if s["success"]}
                    a_l2 = {i: d for i, (d, _) in enumerate(art) if d is not None}
                    both = sorted(set(m_l2) & set(a_l2))
                    rows_hsj.append(dict(
                        model=f"{ds}/{mname}", budget=budget, n=len(xs),
                        moat_sr=len(m_l2) / len(xs), art_sr=len(a_l2) / len(xs),
                        moat_l2=med(list(m_l2.values())), art_l2=med(list(a_l2.values())),
                        moat_l2_both=med([m_l2[i] for i in both]), art_l2_both=med([a_l2[i] for i in both]),
                        moat_wall=mw, moat_cpu=mc, art_wall=aw, art_cpu=ac))
                    print(json.dumps(rows_hsj[-1]), file=sys.stderr, flush=True)
                    if mname == "logreg":
                        sq, sw, scpu = run_moat(path, xs, ys, "square", "linf", budget, SQUARE_EPS)
                        verify_moat(sess, sq, xs, ys, SQUARE_EPS, "linf")
                        row = dict(model=f"{ds}/{mname}", budget=budget, n=len(xs),
                                   moat_sr=sq["success_rate"], moat_wall=sw, moat_cpu=scpu)
                        if image:
                            ok, aw2, ac2, qps = art_square(sess, xs, ys, budget, shape, nb)
                            row.update(art_sr=float(ok.mean()), art_wall=aw2, art_cpu=ac2, art_q=qps)
                        rows_sq.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
    report(rows_hsj, rows_sq)


def report(rows_hsj, rows_sq):
    print("### HopSkipJump, L2, untargeted\n")
    print("| model | budget | samples | success moat / ART | median L2 moat / ART | median L2 on samples both broke, moat / ART | wall s moat / ART | wall ratio ART/moat | CPU s moat / ART | CPU ratio ART/moat |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows_hsj:
        print(f"| {r['model']} | {r['budget']} | {r['n']} | {r['moat_sr']:.2f} / {r['art_sr']:.2f} | "
              f"{r['moat_l2']:.3f} / {r['art_l2']:.3f} | {r['moat_l2_both']:.3f} / {r['art_l2_both']:.3f} | "
              f"{r['moat_wall']:.2f} / {r['art_wall']:.2f} | {r['art_wall'] / max(r['moat_wall'], 1e-3):.1f}x | "
              f"{r['moat_cpu']:.2f} / {r['art_cpu']:.2f} | {r['art_cpu'] / max(r['moat_cpu'], 1e-3):.1f}x |")
    tw = sum(r["moat_wall"] for r in rows_hsj), sum(r["art_wall"] for r in rows_hsj)
    tc = sum(r["moat_cpu"] for r in rows_hsj), sum(r["art_cpu"] for r in rows_hsj)
    print(f"\nTotal wall time moat {tw[0]:.1f} s, ART {tw[1]:.1f} s ({tw[1] / tw[0]:.0f}x); "
          f"CPU moat {tc[0]:.1f} s, ART {tc[1]:.1f} s ({tc[1] / tc[0]:.0f}x).\n")
    print(f"### Square Attack, Linf, epsilon {SQUARE_EPS}\n")
    print("| model | budget | samples | success moat / ART | wall s moat / ART | CPU s moat / ART |")
    print("|---|---|---|---|---|---|")
    for r in rows_sq:
        if "art_sr" in r:
            print(f"| {r['model']} | {r['budget']} | {r['n']} | {r['moat_sr']:.2f} / {r['art_sr']:.2f} | "
                  f"{r['moat_wall']:.2f} / {r['art_wall']:.2f} | {r['moat_cpu']:.2f} / {r['art_cpu']:.2f} |")
        else:
            print(f"| {r['model']} | {r['budget']} | {r['n']} | {r['moat_sr']:.2f} / (images only) | "
                  f"{r['moat_wall']:.2f} / – | {r['moat_cpu']:.2f} / – |")


if __name__ == "__main__":
    main()
