"""A field-level Metro 2 validator for the character format, written from the public format description
(CDIA Metro 2: Header Record, Base Segment, Trailer Record; 426 characters each) and not from the exporter's
code: the positions below are typed in again on purpose, so a wrong position in the exporter fails here.

    problems = validate(text)     # [] when the file is valid; else "record N field: what is wrong"
"""

from __future__ import annotations

from datetime import date

LENGTH = 426
# Account Status codes of the Base Segment (field 17A).
ACCOUNT_STATUS = {
    "DA", "DF", "05", "11", "13", "61", "62", "63", "64", "65", "71", "78", "80", "82", "83", "84", "88", "89",
    "93", "94", "95", "96", "97",
}  # fmt: skip
PAYMENT_RATING = {"", "0", "1", "2", "3", "4", "5", "6", "G", "L"}
# Compliance Condition Codes (field 20): blank, or one of the FCRA / FCBA codes.
COMPLIANCE_CONDITION = {
    "", "XA", "XB", "XC", "XD", "XE", "XF", "XG", "XH", "XJ", "XR",
}  # fmt: skip
PORTFOLIO_TYPE = {"C", "I", "M", "O", "R"}
ECOA = {"1", "2", "3", "5", "7", "T", "X", "W", "Z"}
HISTORY = set("0123456BDEGHJKL")
TERMS_FREQUENCY = {"D", "P", "W", "B", "E", "M", "L", "Q", "T", "S", "Y"}
LATE = {"71", "78", "80", "82", "83", "84"}

# (name, 1-based start, length, kind, required): kind N numeric, A alphanumeric, D date MMDDYYYY
HEADER = [
    ("rdw", 1, 4, "N", True),
    ("record identifier", 5, 6, "A", True),
    ("activity date", 48, 8, "D", True),
    ("date created", 56, 8, "D", True),
    ("reporter name", 80, 40, "A", True),
    ("reporter telephone", 216, 10, "N", False),
]
BASE = [
    ("rdw", 1, 4, "N", True),
    ("processing indicator", 5, 1, "N", True),
    ("time stamp", 6, 14, "N", True),
    ("correction indicator", 20, 1, "N", False),
    ("identification number", 21, 20, "A", True),
    ("consumer account number", 43, 30, "A", True),
    ("portfolio type", 73, 1, "A", True),
    ("account type", 74, 2, "A", True),
    ("date opened", 76, 8, "D", True),
    ("credit limit", 84, 9, "N", False),
    ("highest credit", 93, 9, "N", False),
    ("terms duration", 102, 3, "A", True),
    ("terms frequency", 105, 1, "A", False),
    ("scheduled monthly payment", 106, 9, "N", False),
    ("actual payment amount", 115, 9, "N", False),
    ("account status", 124, 2, "A", True),
    ("payment rating", 126, 1, "A", False),
    ("payment history profile", 127, 24, "A", True),
    ("special comment", 151, 2, "A", False),
    ("compliance condition code", 153, 2, "A", False),
    ("current balance", 155, 9, "N", False),
    ("amount past due", 164, 9, "N", False),
    ("original charge-off amount", 173, 9, "N", False),
    ("date of account information", 182, 8, "D", True),
    ("fcra date of first delinquency", 190, 8, "D", False),
    ("date closed", 198, 8, "D", False),
    ("date of last payment", 206, 8, "D", False),
    ("surname", 232, 25, "A", True),
    ("first name", 257, 20, "A", True),
    ("social security number", 298, 9, "N", False),
    ("date of birth", 307, 8, "D", False),
    ("telephone number", 315, 10, "N", False),
    ("ecoa code", 325, 1, "A", True),
    ("country code", 328, 2, "A", False),
    ("first line of address", 330, 32, "A", True),
    ("city", 394, 20, "A", True),
    ("state", 414, 2, "A", True),
    ("postal/zip code", 416, 9, "A", True),
]
TRAILER = [
    ("rdw", 1, 4, "N", True),
    ("record identifier", 5, 7, "A", True),
    ("total base records", 12, 9, "N", True),
    ("block count", 57, 9, "N", True),
]
# Trailer totals of Account Status codes: code → 1-based start (9 digits each).
TRAILER_STATUS_AT = {
    "DA": 66, "05": 75, "11": 84, "13": 93, "61": 102, "62": 111, "63": 120, "64": 129, "65": 138, "71": 147,
    "78": 156, "80": 165, "82": 174, "83": 183, "84": 192, "88": 201, "89": 210, "93": 219, "94": 228, "95": 237,
    "96": 246, "97": 255,
}  # fmt: skip


def field(record: str, start: int, length: int) -> str:
    return record[start - 1 : start - 1 + length]


def _check_fields(n: int, record: str, layout: list[tuple[str, int, int, str, bool]]) -> list[str]:
    problems = []
    for name, start, length, kind, required in layout:
        value = field(record, start, length)
        where = f"record {n} {name} (positions {start}-{start + length - 1})"
        if kind == "N":
            if not value.isdigit():
                problems.append(f"{where}: not digits: {value!r}")
            elif required and int(value) == 0 and name not in ("processing indicator",):
                problems.append(f"{where}: required, but zero")
        elif kind == "D":
            if not value.isdigit():
                problems.append(f"{where}: not a date MMDDYYYY: {value!r}")
            elif value != "0" * 8:
                try:
                    date(int(value[4:]), int(value[:2]), int(value[2:4]))
                except ValueError:
                    problems.append(f"{where}: not a date MMDDYYYY: {value!r}")
            elif required:
                problems.append(f"{where}: required, but zeros")
        else:
            if value != value.upper() or any(not (" " <= c <= "~") for c in value):
                problems.append(f"{where}: not upper-case printable ASCII: {value!r}")
            if value[:1] == " " and value.strip():
                problems.append(f"{where}: not left-justified: {value!r}")
            if required and not value.strip():
                problems.append(f"{where}: required, but blank")
    return problems


def validate(text: str) -> list[str]:
    """Every problem found in a Metro 2 character-format file (records separated by newlines)."""
    records = text.split("\n")
    if records and records[-1] == "":
        records.pop()
    problems: list[str] = []
    if len(records) < 2:
        return ["a file holds at least a HEADER and a TRAILER record"]
    for n, record in enumerate(records, start=1):
        if len(record) != LENGTH:
            problems.append(f"record {n}: {len(record)} characters, not {LENGTH}")
            continue
        if not record[:4].isdigit() or int(record[:4]) != len(record):
            problems.append(
                f"record {n}: record descriptor word {record[:4]!r} is not its length {len(record)}"
            )
    if problems:
        return problems
    header, bases, trailer = records[0], records[1:-1], records[-1]
    if field(header, 5, 6) != "HEADER":
        problems.append("record 1: the first record is not the HEADER")
    if field(trailer, 5, 7) != "TRAILER":
        problems.append(f"record {len(records)}: the last record is not the TRAILER")
    problems += _check_fields(1, header, HEADER)
    counts: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for n, base in enumerate(bases, start=2):
        if field(base, 5, 6) in ("HEADER", "TRAILE"):
            problems.append(f"record {n}: a HEADER or TRAILER inside the file")
            continue
        problems += _check_fields(n, base, BASE)
        status = field(base, 124, 2)
        counts[status] = counts.get(status, 0) + 1
        checks = [
            (status in ACCOUNT_STATUS, f"account status {status!r} is not a Metro 2 code"),
            (field(base, 126, 1).strip() in PAYMENT_RATING, "payment rating not a Metro 2 code"),
            (
                field(base, 153, 2).strip() in COMPLIANCE_CONDITION,
                "compliance condition code not a Metro 2 code",
            ),
            (field(base, 73, 1) in PORTFOLIO_TYPE, "portfolio type not C, I, M, O or R"),
            (field(base, 325, 1) in ECOA, "ECOA code not a Metro 2 code"),
            (field(base, 105, 1).strip() in TERMS_FREQUENCY | {""}, "terms frequency not a Metro 2 code"),
            (set(field(base, 127, 24)) <= HISTORY, "payment history profile holds a letter Metro 2 has not"),
            (field(base, 414, 2).isalpha(), "state is not two letters"),
            (field(base, 20, 1) in ("0", "1"), "correction indicator is neither 0 nor 1"),
        ]
        if status in LATE:
            checks.append(
                (field(base, 190, 8) != "0" * 8, "a delinquent account needs its date of first delinquency")
            )
            checks.append((int(field(base, 164, 9)) > 0, "a delinquent account has an amount past due"))
        if status == "11":
            checks.append((int(field(base, 164, 9)) == 0, "a current account has no amount past due"))
        if status == "13":
            checks.append((int(field(base, 155, 9)) == 0, "a paid account has a zero balance"))
        problems += [f"record {n}: {message}" for ok, message in checks if not ok]
        key = (field(base, 43, 30), field(base, 20, 1))
        if key in seen:
            problems.append(f"record {n}: account {key[0].strip()} reported twice")
        seen.add(key)
    problems += _check_fields(len(records), trailer, TRAILER)
    if int(field(trailer, 12, 9)) != len(bases):
        problems.append(
            f"trailer: total base records {int(field(trailer, 12, 9))}, the file has {len(bases)}"
        )
    for code, start in TRAILER_STATUS_AT.items():
        total = int(field(trailer, start, 9))
        if total != counts.get(code, 0):
            problems.append(f"trailer: total of status {code} is {total}, the file has {counts.get(code, 0)}")
    return problems
