"""Masking personal data for views and logs."""

from __future__ import annotations

import pytest

from arrears.domain.masking import mask_email, mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("masker", "value", "masked"),
    [
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "+8613812345678", "+86*******5678"),
        (mask_phone, "12345", "***45"),
        (mask_id_number, "110101199003071234", "110***********1234"),
        (mask_id_number, "11010119900307123X", "110***********123X"),
        (mask_name, "张三", "张*"),
        (mask_name, "欧阳娜娜", "欧***"),
        (mask_name, "Li Wei", "L* ***"),
        (mask_email, "zhangsan@example.com", "z*******@example.com"),
        (mask_phone, None, None),
        (mask_name, "", ""),
    ],
)
def test_masks(masker, value: str | None, masked: str | None) -> None:
    assert masker(value) == masked
