"""Keep personal data and secrets out of logs."""

from urllib.parse import urlsplit, urlunsplit


def mask_phone(number: str | None) -> str:
    """'+393331234567' -> '+39*******567': enough to tell calls apart, not to dial."""
    if not number:
        return "unknown"
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]


def mask_url(url: str) -> str:
    """A connection URL without its password: 'postgresql://app:***@db/hotline'."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
