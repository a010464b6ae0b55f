"""Valid test identity numbers (GB 11643 checksums computed, never hard-coded)."""

from datetime import date

from core.identity import check_character


def resident_id(born: date, region: str = "110105", sequence: str = "123") -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    return first17 + check_character(first17)


def with_wrong_checksum(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong
