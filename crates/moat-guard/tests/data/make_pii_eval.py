#!/usr/bin/env python3
"""Regenerates the labelled PII and secrets evaluation set of moat-guard (stdlib only):

    python3 crates/moat-guard/tests/data/make_pii_eval.py

Writes `pii_eval.jsonl`: one text per line, `{"id", "text", "spans": [{"type", "start",
"end"}]}`, offsets in code points. Values are generated valid (Luhn and issuer ranges,
IBAN mod-97, issued SSN ranges, …) and placed in varied sentences, several languages
of filler, with hard negatives that look alike but are not findings: Luhn-invalid and
order numbers, IBANs with wrong check digits, unissued SSNs, version strings and OIDs,
UUIDs, git SHAs, SHA-256 digests and placeholder keys. A fixed seed keeps it stable.
It is an evaluation set: no detector was tuned on its exact sentences.
"""
import json
import os
import random
import string

HERE = os.path.dirname(os.path.abspath(__file__))
R = random.Random(20261125)


def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(R.randrange(10))
    for check in range(10):
        cand = digits + [check]
        total = 0
        for i, d in enumerate(reversed(cand)):
            if i % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        if total % 10 == 0:
            return "".join(map(str, cand))


def luhn_broken(prefix, length):
    good = luhn_complete(prefix, length)
    last = (int(good[-1]) + R.randrange(1, 10)) % 10
    return good[:-1] + str(last)


def group(num, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(num[i : i + s])
        i += s
    return sep.join(out)


def card():
    kind = R.choice(["visa", "mc", "mc2", "amex", "discover", "jcb"])
    if kind == "visa":
        n = luhn_complete("4", 16)
    elif kind == "mc":
        n = luhn_complete(str(R.randrange(51, 56)), 16)
    elif kind == "mc2":
        n = luhn_complete(str(R.randrange(2221, 2721)), 16)
    elif kind == "amex":
        n = luhn_complete(R.choice(["34", "37"]), 15)
        return group(n, [4, 6, 5], R.choice([" ", "-", ""]))
    elif kind == "discover":
        n = luhn_complete("6011", 16)
    else:
        n = luhn_complete(str(R.randrange(3528, 3590)), 16)
    return group(n, [4, 4, 4, 4], R.choice([" ", "-", ""]))


IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "BE": 16, "CH": 21, "PL": 28, "SE": 24}


def iban_check(country, bban):
    s = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in s)
    return 98 - int(num) % 97


def iban(valid=True):
    c = R.choice(list(IBAN_LEN))
    n = IBAN_LEN[c] - 4
    if c in ("GB", "NL"):
        bban = "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + "".join(R.choice(string.digits) for _ in range(n - 4))
    else:
        bban = "".join(R.choice(string.digits) for _ in range(n))
    check = iban_check(c, bban)
    if not valid:
        check = (check + R.randrange(1, 97)) % 97 or 1
        if check == iban_check(c, bban):
            check = (check % 96) + 2
    code = f"{c}{check:02d}{bban}"
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4)) if R.random() < 0.6 else code


def ssn(valid=True):
    if valid:
        area = R.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{R.randrange(1, 100):02d}-{R.randrange(1, 10000):04d}"
    kind = R.choice(["000", "666", "9xx", "g00", "s0000"])
    area = {"000": 0, "666": 666, "9xx": R.randrange(900, 1000)}.get(kind, R.randrange(1, 666))
    grp = 0 if kind == "g00" else R.randrange(1, 100)
    ser = 0 if kind == "s0000" else R.randrange(1, 10000)
    return f"{area:03d}-{grp:02d}-{ser:04d}"


def phone():
    kind = R.choice(["us", "us2", "uk", "de", "fr", "in", "intl"])
    if kind == "us":
        return f"({R.randrange(201, 990)}) {R.randrange(200, 999)}-{R.randrange(0, 10000):04d}"
    if kind == "us2":
        return f"+1 {R.randrange(201, 990)} {R.randrange(200, 999)} {R.randrange(0, 10000):04d}"
    if kind == "uk":
        return R.choice([f"+44 20 {R.randrange(7000, 8999)} {R.randrange(0, 10000):04d}", f"020 {R.randrange(7000, 8999)} {R.randrange(0, 10000):04d}"])
    if kind == "de":
        return R.choice([f"+49 30 {R.randrange(1000000, 99999999)}", f"030 {R.randrange(100000, 9999999)}"])
    if kind == "fr":
        d = [R.randrange(10, 100) for _ in range(4)]
        return R.choice([f"0{R.randrange(1, 8)} {d[0]} {d[1]} {d[2]} {d[3]}", f"+33 {R.randrange(1, 8)} {d[0]} {d[1]} {d[2]} {d[3]}"])
    if kind == "in":
        return f"+91 {R.randrange(70000, 99999)} {R.randrange(10000, 99999)}"
    return f"+{R.choice([34, 39, 61, 81, 55])} {R.randrange(100, 999)} {R.randrange(100, 999)} {R.randrange(1000, 9999)}"


def ipv4():
    return ".".join(str(R.randrange(1, 255)) for _ in range(4))


def ipv6():
    groups = [f"{R.randrange(0, 65536):x}" for _ in range(8)]
    if R.random() < 0.5:
        return ":".join(groups)
    return f"{groups[0]}:{groups[1]}::{groups[6]}:{groups[7]}"


def email():
    first = R.choice(["jane", "john", "a.smith", "li.wei", "maria", "ops", "k.mueller", "sam"])
    dom = R.choice(["example.com", "corp.example.org", "mail.example.net", "uni.example.ac.uk"])
    return f"{first}{R.choice(['', str(R.randrange(1, 99))])}@{dom}"


def rand_token(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


B32 = string.ascii_uppercase + "234567"
ALNUM = string.ascii_letters + string.digits


def secret():
    kind = R.choice(["aws", "gh", "slack", "stripe", "google", "openai", "anthropic", "jwt", "pem", "url", "password"])
    if kind == "aws":
        return "AWS_ACCESS_KEY_ID", "AKIA" + rand_token(B32, 16)
    if kind == "gh":
        return "GITHUB_TOKEN", "ghp_" + rand_token(ALNUM, 36)
    if kind == "slack":
        return "SLACK_TOKEN", f"xoxb-{R.randrange(10**11, 10**12)}-{R.randrange(10**11, 10**12)}-{rand_token(ALNUM, 24)}"
    if kind == "stripe":
        return "STRIPE_KEY", "sk_live_" + rand_token(ALNUM, 24)
    if kind == "google":
        return "GOOGLE_API_KEY", "AIza" + rand_token(ALNUM + "-_", 35)
    if kind == "openai":
        return "OPENAI_API_KEY", "sk-proj-" + rand_token(ALNUM + "-_", 48)
    if kind == "anthropic":
        return "ANTHROPIC_API_KEY", "sk-ant-api03-" + rand_token(ALNUM + "-_", 93)
    if kind == "jwt":
        import base64

        def b64(o):
            return base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")

        return "JWT", f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': rand_token(ALNUM, 8), 'iat': 1700000000})}.{rand_token(ALNUM + '-_', 43)}"
    if kind == "pem":
        body = "\n".join(rand_token(ALNUM + "+/", 64) for _ in range(3))
        return "PRIVATE_KEY", f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    if kind == "url":
        return "CONNECTION_STRING", rand_token(ALNUM, 6) + R.choice("!#%") + rand_token(ALNUM, 6)
    return "PASSWORD", rand_token(ALNUM, 5) + R.choice("!#$%&*") + rand_token(ALNUM, 6)


FILLER = [
    "Please update the record before Friday.",
    "The meeting moved to the third floor.",
    "Bitte prüfen Sie die Angaben.",
    "Merci de confirmer la réservation.",
    "We shipped release 2.4 last week.",
    "The model scored 0.93 on the holdout split.",
    "Call me when you land.",
    "Thanks, and see you soon!",
]

NEGATIVES = [
    lambda: f"order number {luhn_broken('4', 16)} was cancelled",
    lambda: f"invoice {R.randrange(10**11, 10**12)}-{R.randrange(1000, 9999)} is paid",
    lambda: f"IBAN on file {iban(valid=False)} bounced",
    lambda: f"test value {ssn(valid=False)} is not a real SSN",
    lambda: f"upgrade to version {R.randrange(1, 9)}.{R.randrange(0, 20)}.{R.randrange(0, 30)}.{R.randrange(0, 99)}",
    lambda: f"SNMP OID 1.3.6.1.4.1.{R.randrange(100, 99999)}.{R.randrange(1, 9)}",
    lambda: f"request id {'-'.join(rand_token('0123456789abcdef', n) for n in (8, 4, 4, 4, 12))}",
    lambda: f"commit {rand_token('0123456789abcdef', 40)} fixed it",
    lambda: f"digest sha256:{rand_token('0123456789abcdef', 64)}",
    lambda: "use AKIAXXXXXXXXXXXXXXXX as a placeholder",
    lambda: "the docs use AKIAIOSFODNN7EXAMPLE",
    lambda: "password = ${DB_PASSWORD}",
    lambda: f"build {R.randrange(1000, 9999)} took {R.randrange(2, 59)} minutes",
    lambda: f"room {R.randrange(100, 999)}, floor {R.randrange(1, 30)}",
]


def sentence(kind):
    if kind == "EMAIL_ADDRESS":
        v = email()
        return R.choice(["Write to {} for access.", "Contact: {}", "cc {} please", "Mail an {} senden."]), v
    if kind == "CREDIT_CARD":
        return R.choice(["Card number {} expires 09/27.", "Paid with {}.", "Visa/MC: {}", "Carte bancaire {} refusée."]), card()
    if kind == "IBAN_CODE":
        return R.choice(["Wire it to {}.", "IBAN: {}", "Bankverbindung {} (Sparkasse)."]), iban()
    if kind == "US_SSN":
        return R.choice(["SSN {} on file.", "Social security number: {}", "Her SSN is {}."]), ssn()
    if kind == "IP_ADDRESS":
        v = ipv4() if R.random() < 0.7 else ipv6()
        return R.choice(["Login from {} was blocked.", "server at {} is down", "allow {} in the firewall"]), v
    if kind == "PHONE_NUMBER":
        return R.choice(["Call {} after 5pm.", "Phone: {}", "Tel. {}", "reach me on {}"]), phone()
    etype, v = secret()
    if etype == "CONNECTION_STRING":
        return "DATABASE_URL=postgres://app:{}@db.internal:5432/prod", (etype, v)
    if etype == "PASSWORD":
        return R.choice(["password = \"{}\"", "secret: {}", "export API_KEY={}"]), (etype, v)
    return R.choice(["token {} leaked in the log", "key={}", "Authorization: Bearer {}", "found {} in the repo"]), (etype, v)


KINDS = ["EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PHONE_NUMBER", "SECRET"]

rows = []
for i in range(1500):
    parts, spans = [], []
    text = ""
    for _ in range(R.randrange(1, 4)):
        if R.random() < 0.35:
            piece = R.choice(NEGATIVES)()
            text += piece + " "
            continue
        kind = R.choice(KINDS)
        tmpl, val = sentence(kind)
        etype, value = (val if isinstance(val, tuple) else (kind, val))
        before, after = tmpl.split("{}")
        start = len(text) + len(before)
        text += before + value + after + " "
        spans.append({"type": etype, "start": start, "end": start + len(value)})
        if R.random() < 0.5:
            text += R.choice(FILLER) + " "
    rows.append({"id": i, "text": text.strip(), "spans": spans})

with open(os.path.join(HERE, "pii_eval.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(rows), "texts,", sum(len(r["spans"]) for r in rows), "labelled spans")
