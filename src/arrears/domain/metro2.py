"""Metro 2 (CDIA), character format: the Header Record, the Base Segment and the Trailer Record as field
layouts (1-based start, length, kind), 426 characters each.

Kinds: "AN" alphanumeric (upper case, left-justified, blank-filled), "N" numeric (right-justified,
zero-filled; money in whole dollars, cents truncated), "D" date MMDDYYYY (zeros when there is none), "TS"
time stamp MMDDYYYYHHMMSS. Every record begins with its Record Descriptor Word: the record's length as four
digits ("0426"). The file is the Header Record, one Base Segment per account, then the Trailer Record with
the totals. Layout from the public Metro 2 format description (docs/bureau.md lists it field by field).
"""

from __future__ import annotations

from dataclasses import dataclass

RECORD_LENGTH = 426
RDW = f"{RECORD_LENGTH:04d}"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    start: int  # 1-based position of the first character
    length: int
    kind: str  # AN | N | D | TS

    @property
    def end(self) -> int:
        return self.start + self.length - 1


def _layout(*fields: tuple[str, int, int, str]) -> tuple[Field, ...]:
    layout = tuple(Field(*f) for f in fields)
    position = 1
    for f in layout:  # contiguous, no gaps, no overlaps: the layout is the record
        assert f.start == position, f"{f.name} starts at {f.start}, expected {position}"
        position += f.length
    assert position - 1 == RECORD_LENGTH, f"layout is {position - 1} characters"
    return layout


HEADER = _layout(
    ("record_descriptor_word", 1, 4, "N"),
    ("record_identifier", 5, 6, "AN"),  # HEADER
    ("cycle_identifier", 11, 2, "AN"),
    ("innovis_program_identifier", 13, 10, "AN"),
    ("equifax_program_identifier", 23, 10, "AN"),
    ("experian_program_identifier", 33, 5, "AN"),
    ("transunion_program_identifier", 38, 10, "AN"),
    ("activity_date", 48, 8, "D"),
    ("date_created", 56, 8, "D"),
    ("program_date", 64, 8, "D"),
    ("program_revision_date", 72, 8, "D"),
    ("reporter_name", 80, 40, "AN"),
    ("reporter_address", 120, 96, "AN"),
    ("reporter_telephone_number", 216, 10, "N"),
    ("software_vendor_name", 226, 40, "AN"),
    ("software_version_number", 266, 5, "AN"),
    ("prbc_program_identifier", 271, 10, "AN"),
    ("reserved", 281, 146, "AN"),
)

BASE = _layout(
    ("record_descriptor_word", 1, 4, "N"),
    ("processing_indicator", 5, 1, "N"),
    ("time_stamp", 6, 14, "TS"),
    ("correction_indicator", 20, 1, "N"),
    ("identification_number", 21, 20, "AN"),
    ("cycle_identifier", 41, 2, "AN"),
    ("consumer_account_number", 43, 30, "AN"),
    ("portfolio_type", 73, 1, "AN"),
    ("account_type", 74, 2, "AN"),
    ("date_opened", 76, 8, "D"),
    ("credit_limit", 84, 9, "N"),
    ("highest_credit", 93, 9, "N"),
    ("terms_duration", 102, 3, "AN"),
    ("terms_frequency", 105, 1, "AN"),
    ("scheduled_monthly_payment", 106, 9, "N"),
    ("actual_payment_amount", 115, 9, "N"),
    ("account_status", 124, 2, "AN"),
    ("payment_rating", 126, 1, "AN"),
    ("payment_history_profile", 127, 24, "AN"),
    ("special_comment", 151, 2, "AN"),
    ("compliance_condition_code", 153, 2, "AN"),
    ("current_balance", 155, 9, "N"),
    ("amount_past_due", 164, 9, "N"),
    ("original_charge_off_amount", 173, 9, "N"),
    ("date_of_account_information", 182, 8, "D"),
    ("date_of_first_delinquency", 190, 8, "D"),
    ("date_closed", 198, 8, "D"),
    ("date_of_last_payment", 206, 8, "D"),
    ("interest_type_indicator", 214, 1, "AN"),
    ("reserved", 215, 17, "AN"),
    ("surname", 232, 25, "AN"),
    ("first_name", 257, 20, "AN"),
    ("middle_name", 277, 20, "AN"),
    ("generation_code", 297, 1, "AN"),
    ("social_security_number", 298, 9, "N"),
    ("date_of_birth", 307, 8, "D"),
    ("telephone_number", 315, 10, "N"),
    ("ecoa_code", 325, 1, "AN"),
    ("consumer_information_indicator", 326, 2, "AN"),
    ("country_code", 328, 2, "AN"),
    ("first_line_of_address", 330, 32, "AN"),
    ("second_line_of_address", 362, 32, "AN"),
    ("city", 394, 20, "AN"),
    ("state", 414, 2, "AN"),
    ("postal_zip_code", 416, 9, "AN"),
    ("address_indicator", 425, 1, "AN"),
    ("residence_code", 426, 1, "AN"),
)

# Account Status codes the Trailer Record totals, in its order.
TRAILER_STATUSES = (
    "DA", "05", "11", "13", "61", "62", "63", "64", "65", "71", "78", "80", "82", "83", "84", "88", "89", "93",
    "94", "95", "96", "97",
)  # fmt: skip

TRAILER = _layout(
    ("record_descriptor_word", 1, 4, "N"),
    ("record_identifier", 5, 7, "AN"),  # TRAILER
    ("total_base_records", 12, 9, "N"),
    ("reserved_1", 21, 9, "AN"),
    ("total_status_code_df", 30, 9, "N"),
    ("total_j1_segments", 39, 9, "N"),
    ("total_j2_segments", 48, 9, "N"),
    ("block_count", 57, 9, "N"),
    *((f"total_status_code_{code.lower()}", 66 + 9 * i, 9, "N") for i, code in enumerate(TRAILER_STATUSES)),
    ("total_ecoa_code_z", 264, 9, "N"),
    ("total_employment_segments", 273, 9, "N"),
    ("total_original_creditor_segments", 282, 9, "N"),
    ("total_purchased_sold_segments", 291, 9, "N"),
    ("total_mortgage_information_segments", 300, 9, "N"),
    ("total_specialized_payment_segments", 309, 9, "N"),
    ("total_change_segments", 318, 9, "N"),
    ("total_ssn_all_segments", 327, 9, "N"),
    ("total_ssn_base_segments", 336, 9, "N"),
    ("total_ssn_j1_segments", 345, 9, "N"),
    ("total_ssn_j2_segments", 354, 9, "N"),
    ("total_dob_all_segments", 363, 9, "N"),
    ("total_dob_base_segments", 372, 9, "N"),
    ("total_dob_j1_segments", 381, 9, "N"),
    ("total_dob_j2_segments", 390, 9, "N"),
    ("total_telephone_all_segments", 399, 9, "N"),
    ("reserved_2", 408, 19, "AN"),
)


def render(layout: tuple[Field, ...], values: dict[str, object]) -> str:
    """One record of `layout` from its values by field name (missing: blanks or zeros); for the two
    one-off records (header, trailer): the Base Segments are written column-wise."""
    unknown = set(values) - {f.name for f in layout}
    if unknown:
        raise ValueError(f"not fields of this record: {sorted(unknown)}")
    out = []
    for f in layout:
        value = values.get(f.name)
        if f.kind == "AN":
            text = "" if value is None else ascii_upper(str(value))
            out.append(text[: f.length].ljust(f.length))
        else:
            digits = "0" if value is None else str(value)
            if not digits.isdigit() or len(digits) > f.length:
                raise ValueError(f"{f.name}: {value!r} is not {f.length} digits")
            out.append(digits.rjust(f.length, "0"))
    record = "".join(out)
    return RDW + record[4:]


def ascii_upper(text: str) -> str:
    """Upper-case printable ASCII (what a Metro 2 alphanumeric field holds); anything else becomes a blank."""
    # character by character: a letter whose capital is longer ("ß" -> "SS") keeps its place, and becomes a
    # blank like any other character outside printable ASCII (as the column-wise writer does it)
    capitals = (c.upper() for c in text)
    return "".join(u if len(u) == 1 and " " <= u <= "~" else " " for u in capitals)
