#!/usr/bin/env bash
# Scanner speed, side by side in one run (issue #3):
#  1. a ~1 GB PyTorch-style checkpoint (zip: data.pkl plus large stored tensor records):
#     `moat scan` (SHA-256 of every byte plus the scan) against `openssl dgst -sha256`;
#  2. an opcode-dense pickle (a list of N small ints): `moat scan` throughput and peak
#     memory, and the same file through picklescan, ModelScan and fickling when they
#     are on PATH (pip install picklescan modelscan fickling);
#  3. start-up: `moat scan` of a tiny pickle, averaged over 200 runs.
#
#   bash bench/scan.sh [GB] [N_INTS]      # defaults: 1 GB, 20,000,000 ints
#
# Files are cached in the page cache first (one read each) so that both sides of each
# comparison read from memory: the figures are CPU cost, not disk speed.
set -euo pipefail
cd "$(dirname "$0")/.."
GB="${1:-1}"
INTS="${2:-20000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moat-target}"
cargo build --release -q -p moat
MOAT="$CARGO_TARGET_DIR/release/moat"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" "$GB" "$INTS" <<'EOF'
import collections, os, pickle, sys, zipfile
work, gb, ints = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])

# A torch.save-like archive: the pickle names storages by persistent id; each storage is
# a stored (uncompressed) record of 64 MiB of random bytes.
block = os.urandom(64 << 20)
n = max(1, int(gb * 1024 / 64))
state = collections.OrderedDict((f"layer{i}.weight", i) for i in range(n))
with zipfile.ZipFile(os.path.join(work, "checkpoint.pt"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", pickle.dumps(state, protocol=2))
    for i in range(n):
        with z.open(f"archive/data/{i}", "w", force_zip64=True) as f:
            f.write(block)
    z.writestr("archive/version", "3\n")

with open(os.path.join(work, "dense.pkl"), "wb") as f:
    pickle.dump(list(range(ints)), f, protocol=4)
with open(os.path.join(work, "tiny.pkl"), "wb") as f:
    pickle.dump({"w": [1.0, 2.0]}, f, protocol=4)
EOF

ckpt="$WORK/checkpoint.pt"
dense="$WORK/dense.pkl"
size() { stat -c %s "$1"; }
cat "$ckpt" "$dense" > /dev/null

# Best of three wall times, in seconds; peak RSS of the last run, in MB.
best() {
  local best=999999 t
  for _ in 1 2 3; do
    t=$(/usr/bin/time -f '%e %M' -o "$WORK/time" "$@" > /dev/null 2>&1; tail -n 1 "$WORK/time")
    local secs=${t% *}
    echo $(( ${t#* } / 1024 )) > "$WORK/rss"
    best=$(python3 -c "print(min($best, $secs))")
  done
  echo "$best"
}

MB=$(python3 -c "print(round($(size "$ckpt") / 1e6))")
t_ssl=$(best openssl dgst -sha256 "$ckpt"); rss_ssl=$(cat "$WORK/rss")
t_moat=$(best "$MOAT" scan --format json "$ckpt"); rss_moat=$(cat "$WORK/rss")
echo
echo "## 1. ${MB} MB checkpoint: full scan vs SHA-256 alone"
echo
echo "| command | best of 3 | throughput | peak RSS |"
echo "|---|---|---|---|"
python3 - "$MB" "$t_ssl" "$rss_ssl" "$t_moat" "$rss_moat" <<'EOF'
import sys
mb, ts, rs, tm, rm = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
print(f"| openssl dgst -sha256 | {ts:.2f} s | {mb/ts:.0f} MB/s | {rs} MB |")
print(f"| moat scan (hash + scan) | {tm:.2f} s | {mb/tm:.0f} MB/s | {rm} MB |")
print(f"\nmoat / openssl throughput: **{ts/tm:.2f}x** (goal >= 0.8x)")
EOF

DMB=$(python3 -c "print(round($(size "$dense") / 1e6))")
echo
echo "## 2. Opcode-dense pickle: a list of $INTS ints, ${DMB} MB"
echo
echo "| tool | wall time | throughput | peak RSS |"
echo "|---|---|---|---|"
row() {
  local name=$1; shift
  if ! command -v "$1" > /dev/null 2>&1; then echo "| $name | not installed | | |"; return; fi
  /usr/bin/time -f '%e %M' -o "$WORK/time" timeout 900 "$@" > /dev/null 2>&1 || true
  local t; t=$(tail -n 1 "$WORK/time")
  python3 -c "import sys; s,k=float('${t% *}'),int('${t#* }'); print(f'| $name | {s:.2f} s | {$DMB/max(s,1e-9):.1f} MB/s | {k//1024} MB |')"
}
row "moat scan" "$MOAT" scan --format json "$dense"
row "picklescan" picklescan --path "$dense"
row "modelscan" modelscan -p "$dense"
row "fickling --check-safety" fickling --check-safety "$dense"

echo
echo "## 3. Start-up: \`moat scan\` of a tiny pickle"
echo
python3 - "$MOAT" "$WORK/tiny.pkl" <<'EOF'
import subprocess, sys, time
moat, tiny = sys.argv[1], sys.argv[2]
runs = 200
start = time.perf_counter()
for _ in range(runs):
    subprocess.run([moat, "scan", tiny], stdout=subprocess.DEVNULL, check=True)
ms = (time.perf_counter() - start) / runs * 1000
print(f"mean wall time over {runs} runs: **{ms:.1f} ms** (goal <= 10 ms)")
EOF
