"""Categories of data the bureau refuses by design (SCOPE.md, "What it will never do").

A furnished column is matched against these by its normalised name and by each of its
underscore-separated words, so `gps_lat`, `GPS Latitude` and `contact-list` are all caught.
"""

from __future__ import annotations

import re

PROHIBITED_CATEGORIES: dict[str, tuple[str, ...]] = {
    "private communications": (
        "message",
        "messages",
        "chat",
        "chats",
        "sms",
        "email_content",
        "call_log",
        "call_logs",
        "private_messages",
        "wechat",
        "whatsapp",
    ),
    "health": (
        "health",
        "medical",
        "diagnosis",
        "disability",
        "prescription",
        "illness",
        "disease",
        "hospital",
        "mental_health",
        "pregnancy",
        "hiv",
        "health_record",
    ),
    "location traces": (
        "gps",
        "location",
        "geolocation",
        "latitude",
        "longitude",
        "lat_long",
        "geo",
        "location_trace",
        "whereabouts",
        "cell_tower",
    ),
    "social graph": (
        "friends",
        "friend",
        "contacts",
        "contact_list",
        "relatives",
        "followers",
        "social",
        "family_members",
        "associates",
        "social_graph",
    ),
    "browsing and reading": (
        "browsing",
        "browser",
        "url",
        "urls",
        "search_history",
        "reading",
        "newspaper",
        "websites",
        "clicks",
        "browsing_history",
    ),
    "gaming": ("gaming", "game", "games", "gaming_time", "game_hours", "video_games"),
    "smart-home data": ("smart_home", "smarthome", "iot", "thermostat", "smart_meter_detail"),
    "shopping baskets": (
        "basket",
        "shopping",
        "purchases",
        "purchase_items",
        "items_bought",
        "shopping_basket",
        "cart",
    ),
    "religion": ("religion", "religious", "faith", "church", "mosque", "temple", "belief"),
    "political opinion": (
        "political",
        "politics",
        "party_membership",
        "loyalty",
        "political_opinion",
        "vote",
        "voting",
        "ideology",
    ),
    "ethnicity": ("ethnicity", "ethnic", "race", "racial", "caste", "tribe", "hukou_ethnicity"),
    "biometrics": (
        "biometric",
        "biometrics",
        "fingerprint",
        "face",
        "facial",
        "iris",
        "voiceprint",
        "face_image",
        "photo",
        "dna",
    ),
}

#: Phrases that name an obligation of the catalogue and contain a prohibited word: "social
#: insurance" is a contribution owed to the state, not a social graph. Only the whole phrase is
#: set aside; any other prohibited word in the same name still counts.
OBLIGATION_TERMS: tuple[str, ...] = ("social_insurance", "social_security")

_SYNONYM_TO_CATEGORY: dict[str, str] = {
    syn: cat for cat, syns in PROHIBITED_CATEGORIES.items() for syn in syns
}


def normalise_column(name: str) -> str:
    """Lower case, runs of non-alphanumerics to one underscore, trimmed."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def prohibited_category(column: str) -> str | None:
    """The prohibited category a column name falls in, or None.

    Matches the whole normalised name, then every run of consecutive words, so both
    `contact_list` and `customer_gps_trace` are caught. An obligation term (OBLIGATION_TERMS)
    is set aside as a whole and splits the name where it stood: the words on either side
    never join into a phrase they did not form (`contact_social_insurance_list` is not a
    `contact_list`), and each side is still checked."""
    norm = normalise_column(column)
    if norm in _SYNONYM_TO_CATEGORY:
        return _SYNONYM_TO_CATEGORY[norm]
    for term in OBLIGATION_TERMS:
        norm = re.sub(rf"(?:^|_){term}(?=_|$)", "|", norm)
    for segment in norm.split("|"):
        words = [w for w in segment.split("_") if w]
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size + 1):
                phrase = "_".join(words[start : start + size])
                if phrase in _SYNONYM_TO_CATEGORY:
                    return _SYNONYM_TO_CATEGORY[phrase]
    return None
