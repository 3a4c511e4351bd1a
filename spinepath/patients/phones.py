"""How the clinic reaches a patient: phone numbers in E.164 (the phonenumbers library), the
postal address, and its distance from the clinic (from the ZIP codes' centres, the zipcodes
library's bundled table: nothing is looked up on the internet)."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import phonenumbers
from django.conf import settings

_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
EXAMPLE = "for example (555) 010-0123, or +44 20 7946 0018 abroad"


def e164(text: str, region: str | None = None) -> str:
    """``text`` as an E.164 number (+15550100123), read in the clinic's country unless it
    starts with +. Raises ValueError in words for the person typing it."""
    text = text.strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region or settings.SPINEPATH_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError(f"Enter a phone number we can call, {EXAMPLE}.") from None
    # Possible (the right length for its country) rather than assigned: fictional and new
    # numbers stay enterable; a wrong one is found by the first call and marked.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise ValueError(f"Include the area code: {EXAMPLE}.")
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(f"This is not a complete phone number: {EXAMPLE}.")
    if number.extension:
        raise ValueError(
            "Give a number without an extension: texts and reminder calls go straight to it."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def readable(number: str) -> str:
    """An E.164 number as people write it in the clinic's country (national format there,
    international abroad)."""
    if not number.startswith("+"):
        return number
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    home = phonenumbers.region_code_for_number(parsed) == settings.SPINEPATH_PHONE_REGION
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def address_problems(patient: Any) -> dict[str, str]:
    """An address is all or nothing: the street, city and ZIP code together (a letter with a
    part missing does not arrive)."""
    problems: dict[str, str] = {}
    parts = {
        "address_line": patient.address_line.strip(),
        "address_city": patient.address_city.strip(),
        "postcode": patient.postcode.strip(),
    }
    if any(parts.values()):
        words = {"address_line": "street address", "address_city": "city", "postcode": "ZIP code"}
        for name, value in parts.items():
            if not value:
                problems[name] = f"Give the {words[name]} too, or leave the whole address empty."
    if parts["postcode"] and not _ZIP.match(parts["postcode"]):
        problems["postcode"] = "Enter a ZIP code of five digits, for example 10027."
    state = patient.address_state.strip().upper()
    if state and state not in US_STATES:
        problems["address_state"] = "Choose the state, for example NY (New York)."
    elif any(parts.values()) and not state:
        problems["address_state"] = "Give the state too, or leave the whole address empty."
    patient.address_state = state
    return problems


# The states, the District of Columbia and the territories, by their postal codes.
US_STATES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "PR": "Puerto Rico",
    "GU": "Guam",
    "VI": "U.S. Virgin Islands",
    "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}


@lru_cache(maxsize=4096)
def _zip_centre(postcode: str) -> tuple[float, float] | None:
    import zipcodes  # its table loads on first use

    try:
        found = zipcodes.matching(postcode[:5])
    except (TypeError, ValueError):
        return None
    if not found:
        return None
    return float(found[0]["lat"]), float(found[0]["long"])


def distance_km(postcode: str) -> float | None:
    """Straight-line distance from the centre of ``postcode`` to the clinic's ZIP code's
    (SPINEPATH_CLINIC_POSTCODE); None when either is unknown."""
    clinic = settings.SPINEPATH_CLINIC_POSTCODE
    if not postcode or not clinic:
        return None
    here, there = _zip_centre(postcode), _zip_centre(clinic)
    if here is None or there is None:
        return None
    (lat1, lon1), (lat2, lon2) = (map(math.radians, p) for p in (here, there))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return round(2 * 6371.0 * math.asin(math.sqrt(a)), 1)
