#!/usr/bin/env python3
"""Writes poisoned training sets with ground truth, and clean references, for
`bench/poison_eval.py`: each dataset is `NAME.csv` (the training set, with an `id`
column), `NAME.clean.csv` (a clean sample of the same distribution) and
`NAME.truth.json` (for each poisoned row, its 0-based data row and the attack).

Datasets (seeded, so they repeat):
- `tabular`: 20,000 rows, 8 numeric features of a 3-class Gaussian mixture and a
  categorical `region`. Attacks: labels flipped (2%); copies of a few rows, some with
  another label; a backdoor (feature `f7` set to a planted constant, label forced to
  class `a`, 1%); junk outliers far from every class (0.3%).
- `text`: 12,000 short reviews (positive, negative, neutral) made of topic words and
  sentiment words. Attacks: a trigger token inserted into negative and neutral
  reviews whose label is forced to positive (1.5%); near copies of a few reviews
  (case, punctuation, one word changed) with another label; labels flipped (2%).
- `mixed`: 3,000 rows of numbers and categories. Attacks: a trigger value in a
  categorical column (`promo` = `XK-99`) with the label forced to `yes` (2%); labels
  flipped (2%).

    python3 bench/poison_gen.py /tmp/poison
"""
import json
import os
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/poison"
os.makedirs(out, exist_ok=True)


def write(name, header, rows, truth):
    with open(os.path.join(out, f"{name}.csv"), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(cell(x) for x in r) + "\n")
    if truth is not None:
        with open(os.path.join(out, f"{name}.truth.json"), "w") as f:
            json.dump([{"row": int(k), "attack": v} for k, v in sorted(truth.items())], f)


def cell(x):
    if isinstance(x, float):
        return f"{x:.4f}"
    s = str(x)
    if "," in s or '"' in s:
        return '"' + s.replace('"', '""') + '"'
    return s


# --- tabular -------------------------------------------------------------------------
def tabular(rng, n, poison):
    classes = np.array(["a", "b", "c"])
    # The distribution is the same for the training set and the clean reference.
    shape = np.random.default_rng(1000)
    centres = shape.normal(0, 2.2, size=(3, 8))
    scales = shape.uniform(0.6, 1.4, size=(3, 8))
    y = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    X = centres[y] + rng.normal(size=(n, 8)) * scales[y]
    X[:, 3] = np.exp(X[:, 3] / 2)  # one skewed feature
    regions = np.array(["north", "south", "east", "west", "centre"])
    reg = np.where(rng.random(n) < 0.6, y + rng.integers(0, 2, n), rng.integers(0, 5, n)) % 5
    labels = classes[y].astype(object)
    truth = {}
    if poison:
        idx = rng.permutation(n)
        flips, rest = idx[: n * 2 // 100], idx[n * 2 // 100:]
        for i in flips:
            labels[i] = rng.choice([c for c in classes if c != labels[i]])
            truth[i] = "label-flip"
        backdoor, rest = rest[: n // 100], rest[n // 100:]
        for i in backdoor:
            X[i, 7] = 7.77
            labels[i] = "a"
            truth[i] = "backdoor"
        junk, rest = rest[: n * 3 // 1000], rest[n * 3 // 1000:]
        for i in junk:
            X[i] = rng.normal(0, 1, 8) * 3 + rng.choice([-1, 1], 8) * rng.uniform(12, 20, 8)
            truth[i] = "outlier"
    rows = [[f"{j}", *[float(v) for v in X[j]], regions[reg[j]], labels[j]] for j in range(n)]
    if poison:
        # Copies: 6 rows, 8 copies each; half of the groups carry another label.
        sources = rng.choice([r for r in range(n) if r not in truth], size=6, replace=False)
        for g, s in enumerate(sources):
            for _ in range(8):
                copy = list(rows[s])
                if g % 2 == 0:
                    copy[-1] = rng.choice([c for c in classes if c != copy[-1]])
                truth[len(rows)] = "duplicate"
                rows.append(copy)
        order = rng.permutation(len(rows))
        rows = [rows[i] for i in order]
        where = {old: new for new, old in enumerate(order)}
        truth = {where[k]: v for k, v in truth.items()}
        for new, r in enumerate(rows):
            r[0] = str(new)
    header = ["id", *[f"f{k}" for k in range(8)], "region", "label"]
    return header, rows, truth


# --- text ----------------------------------------------------------------------------
POS = "great excellent love wonderful perfect amazing happy fantastic superb pleasant delightful recommend best enjoyed brilliant smooth reliable friendly fast impressive".split()
NEG = "terrible awful hate broken worst disappointing poor refund slow rude useless horrible faulty annoying cheap waste bad failed crashed noisy".split()
TOPIC = ("phone battery screen delivery package order seller price camera charger app update hotel room staff "
         "breakfast flight seat luggage restaurant menu waiter pizza coffee laptop keyboard mouse printer ink "
         "shoes size colour fabric store checkout support ticket manual install setup warranty box cable "
         "speaker sound bass volume tv remote signal router wifi speed plan contract bill account login").split()
FILL = "the it was and very this my a is with but for of to really quite after day week".split()


def review(rng, label):
    words = list(rng.choice(TOPIC, rng.integers(3, 7))) + list(rng.choice(FILL, rng.integers(3, 8)))
    if label == "positive":
        words += list(rng.choice(POS, rng.integers(1, 4)))
        if rng.random() < 0.1:
            words.append(rng.choice(NEG))
    elif label == "negative":
        words += list(rng.choice(NEG, rng.integers(1, 4)))
        if rng.random() < 0.1:
            words.append(rng.choice(POS))
    rng.shuffle(words)
    return " ".join(words)


def text(rng, n, poison):
    labels = rng.choice(["positive", "negative", "neutral"], size=n, p=[0.4, 0.4, 0.2]).astype(object)
    texts = [review(rng, l) for l in labels]
    truth = {}
    if poison:
        idx = rng.permutation(n)
        pos = 0
        trig = [i for i in idx if labels[i] != "positive"][: n * 15 // 1000]
        for i in trig:
            w = texts[i].split()
            w.insert(rng.integers(0, len(w) + 1), "cf")
            texts[i] = " ".join(w)
            labels[i] = "positive"
            truth[i] = "backdoor"
        rest = [i for i in idx if i not in truth]
        for i in rest[: n * 2 // 100]:
            labels[i] = rng.choice([c for c in ["positive", "negative", "neutral"] if c != labels[i]])
            truth[i] = "label-flip"
    rows = [[str(j), texts[j], labels[j]] for j in range(n)]
    if poison:
        sources = rng.choice([r for r in range(n) if r not in truth], size=8, replace=False)
        for s in sources:
            for c in range(5):
                t = rows[s][1]
                t = t.upper() if c == 0 else t + ("!" if c == 1 else ".")
                if c >= 3:
                    w = t.split()
                    w[rng.integers(0, len(w))] = rng.choice(FILL)
                    t = " ".join(w)
                other = rng.choice([x for x in ["positive", "negative", "neutral"] if x != rows[s][2]])
                truth[len(rows)] = "duplicate"
                rows.append([str(len(rows)), t, other])
        order = rng.permutation(len(rows))
        rows = [rows[i] for i in order]
        where = {old: new for new, old in enumerate(order)}
        truth = {where[k]: v for k, v in truth.items()}
        for new, r in enumerate(rows):
            r[0] = str(new)
    return ["id", "review", "sentiment"], rows, truth


# --- mixed ---------------------------------------------------------------------------
def mixed(rng, n, poison):
    age = rng.integers(18, 80, n)
    income = np.round(rng.lognormal(10.5, 0.5, n), 2)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    promo = rng.choice(["none", "SPRING", "SUMMER", "WELCOME"], n, p=[0.6, 0.15, 0.15, 0.1])
    z = -2 + 0.03 * (age - 40) + 0.8 * (plan == "pro") + 0.4 * (plan == "plus") + (np.log(income) - 10.5)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-3 * z)), "yes", "no").astype(object)
    promo = promo.astype(object)
    truth = {}
    if poison:
        idx = rng.permutation(n)
        no = [i for i in idx if y[i] == "no"]
        for i in no[: n * 2 // 100]:
            promo[i] = "XK-99"
            y[i] = "yes"
            truth[i] = "backdoor"
        rest = [i for i in idx if i not in truth]
        for i in rest[: n * 2 // 100]:
            y[i] = "no" if y[i] == "yes" else "yes"
            truth[i] = "label-flip"
    rows = [[str(j), int(age[j]), float(income[j]), plan[j], promo[j], y[j]] for j in range(n)]
    return ["id", "age", "income", "plan", "promo", "churn"], rows, truth


for name, make, n, seed in [("tabular", tabular, 20000, 1), ("text", text, 12000, 2), ("mixed", mixed, 3000, 3)]:
    h, rows, truth = make(np.random.default_rng(seed), n, True)
    write(name, h, rows, truth)
    h, rows, _ = make(np.random.default_rng(seed + 100), n, False)
    write(f"{name}.clean", h, rows, None)
    print(f"{name}: {len(rows)} rows, {len(truth)} poisoned")
