#!/usr/bin/env python3
"""Writes `pii_presidio_synth.jsonl`: sentences from Presidio's own evaluation data
generator (presidio-evaluator's sentence templates filled by Faker and its fake-person
records), labelled with Presidio's entity names and code-point spans. The rules of
moat-guard were not written from these texts: they are a held-out set of another
origin than `make_pii_eval.py`. (While fixing what it showed, the rules were checked on
a set this script writes with seed 7; the committed set uses seed 11.)

    pip install --no-deps presidio-evaluator==0.3.2
    pip install faker==40.63.0 pandas tqdm python-dotenv pyyaml requests spacy presidio-analyzer presidio-anonymizer
    python3 crates/moat-guard/tests/data/make_presidio_synth.py [N] [SEED]
"""
import json
import os
import sys

from presidio_evaluator.data_generator import PresidioSentenceFaker

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 11
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pii_presidio_synth.jsonl")
faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=seed)
with open(out, "w", encoding="utf-8") as f:
    for i, s in enumerate(faker.generate_new_fake_sentences(n)):
        spans = [{"type": sp.entity_type, "start": sp.start_position, "end": sp.end_position} for sp in s.spans]
        f.write(json.dumps({"id": i, "text": s.full_text, "spans": spans}, ensure_ascii=False) + "\n")
print(f"{n} sentences -> {out}")
