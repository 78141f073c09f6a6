#!/usr/bin/env python3
"""Regenerates the binary Parquet fixtures of moat-data's tests (needs pyarrow).

    python3 crates/moat-data/tests/data/make_fixtures.py

The fixtures are tiny and synthetic. `expected.json` beside them, written by this
script, holds the summary Moat must give of each: the pyarrow schema above in
Moat's type names (leaf paths joined with `.`).
"""
import datetime
import decimal
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))

table = pa.table(
    {
        "id": pa.array([1, 2, 3], type=pa.int64()),
        "score": pa.array([0.5, None, 2.25], type=pa.float64()),
        "name": pa.array(["a", "b", None], type=pa.string()),
        "ok": pa.array([True, False, True], type=pa.bool_()),
        "day": pa.array([datetime.date(2026, 1, d) for d in (1, 2, 3)], type=pa.date32()),
        "at": pa.array([datetime.datetime(2026, 1, 1, h) for h in (1, 2, 3)], type=pa.timestamp("us")),
        "price": pa.array([decimal.Decimal("1.10"), decimal.Decimal("2.20"), None], type=pa.decimal128(9, 2)),
        "blob": pa.array([b"x", b"y", b"z"], type=pa.binary()),
        "small": pa.array([1, 2, 3], type=pa.int8()),
        "address": pa.array(
            [{"city": "Oslo", "zip": 1}, {"city": "Rome", "zip": 2}, None],
            type=pa.struct([("city", pa.string()), ("zip", pa.int32())]),
        ),
    }
)
schema = table.schema.set(0, pa.field("id", pa.int64(), nullable=False))
table = table.cast(schema)

pq.write_table(table, os.path.join(HERE, "mixed.parquet"), compression="NONE")
big = pa.table({"x": pa.array(range(5000), type=pa.int32())})
pq.write_table(big, os.path.join(HERE, "rows.parquet"), row_group_size=1000, compression="NONE")

expected = {
    "mixed.parquet": {
        "rows": 3,
        "columns": [
            ["id", "integer", False],
            ["score", "float", True],
            ["name", "string", True],
            ["ok", "boolean", True],
            ["day", "date", True],
            ["at", "timestamp", True],
            ["price", "decimal", True],
            ["blob", "binary", True],
            ["small", "integer", True],
            ["address.city", "string", True],
            ["address.zip", "integer", True],
        ],
    },
    "rows.parquet": {"rows": 5000, "columns": [["x", "integer", True]]},
}
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
