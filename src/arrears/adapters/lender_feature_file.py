"""The lender's feature file (`arrears model features import FILE`): CSV (UTF-8, header row) or Parquet
with columns `loan_id`, `as_of` (YYYY-MM-DD) and one column per feature, named `name` or `name:type`
(type int | money | ratio | bool; int when not given). Each row comes back with its line number, values
as text, for the service to check."""

from __future__ import annotations

import csv
from pathlib import Path

from arrears.domain.errors import InputError
from arrears.domain.lender_features import RawFeatureRow


def read_feature_file(path: Path) -> list[RawFeatureRow]:
    if not path.exists():
        raise InputError(f"{path}: no such file", field="FILE")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
            raise InputError(f"{path}: not a Parquet file ({exc})", field="FILE") from None
        header = table.column_names
        rows = [
            RawFeatureRow(
                str(path), k + 2, {c: None if v is None else str(v) for c, v in row.items()}, tuple(header)
            )
            for k, row in enumerate(table.to_pylist())
        ]
        return rows
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path}: empty file (a header row is needed)", field="FILE")
            header = [h.strip() for h in header]
            out = []
            for line, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    raise InputError(
                        f"{path}:{line}: {len(values)} values for {len(header)} columns", field="FILE"
                    )
                out.append(
                    RawFeatureRow(str(path), line, dict(zip(header, values, strict=True)), tuple(header))
                )
            return out
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", field="FILE") from None
