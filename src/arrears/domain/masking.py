"""Masking of personal data (PIPL: minimum necessary) for logs and views.

phone 13812345678 → 138****5678 · ID number 110101199003071234 → 110***********1234 · name 张三 → 张* ·
e-mail zhangsan@example.com → z*******@example.com · address 北京市朝阳区建国路1号 → 北京市朝阳区*****. Unknown (None) stays None.
"""

from __future__ import annotations

MASK = "*"


def mask_phone(phone: str | None) -> str | None:
    """Keep the first 3 and the last 4 digits: 138****5678 (short numbers keep only the last 2)."""
    if phone is None:
        return None
    text = phone.strip()
    if len(text) >= 8:
        return text[:3] + MASK * (len(text) - 7) + text[-4:]
    if len(text) > 2:
        return MASK * (len(text) - 2) + text[-2:]
    return MASK * len(text)


def mask_id_number(id_number: str | None) -> str | None:
    """Keep the first 3 (region) and the last 4 characters: 110***********1234."""
    if id_number is None:
        return None
    text = id_number.strip()
    if len(text) >= 8:
        return text[:3] + MASK * (len(text) - 7) + text[-4:]
    return MASK * len(text)


def mask_name(name: str | None) -> str | None:
    """Keep the first character (the surname in Chinese order): 张三 → 张*, 欧阳娜娜 → 欧***."""
    if name is None:
        return None
    text = name.strip()
    if not text:
        return text
    return text[0] + "".join(c if c.isspace() else MASK for c in text[1:])


def mask_email(email: str | None) -> str | None:
    """Keep the first character of the local part and the domain: z*******@example.com."""
    if email is None:
        return None
    text = email.strip()
    local, at, domain = text.partition("@")
    if not at:
        return mask_name(text)
    return (local[:1] + MASK * max(0, len(local) - 1)) + "@" + domain


def mask_address(address: str | None) -> str | None:
    """Keep the first 6 characters (province and city): 北京市朝阳区建国路1号 → 北京市朝阳区*****."""
    if address is None:
        return None
    text = address.strip()
    keep = 6 if len(text) > 8 else min(2, len(text))
    return text[:keep] + "".join(c if c.isspace() else MASK for c in text[keep:])


__all__ = ["mask_address", "mask_email", "mask_id_number", "mask_name", "mask_phone"]
