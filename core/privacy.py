"""Keep personal data out of logs."""


def mask_phone(number: str | None) -> str:
    """'+393331234567' -> '+39*******567': enough to tell calls apart, not to dial."""
    if not number:
        return "unknown"
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]
