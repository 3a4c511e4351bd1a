"""Which room an appointment needs (PATHWAY.md sections 1 and 2).

A consultation and a pre-procedure visit are held in a consultation room. An injection is
image-guided: fluoroscopy and CT guidance need the fluoroscopy suite (its C-arm); ultrasound
guidance needs an ultrasound room, or the fluoroscopy suite, which also holds an ultrasound
machine. A session with several injections needs a room that suits every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

ROOM_KINDS: dict[str, str] = {
    "consultation": "Consultation room",
    "fluoroscopy": "Fluoroscopy suite",
    "ultrasound": "Ultrasound room",
}

# The rooms each guidance may be done in (CT is done under the fluoroscopy suite's C-arm CT).
_GUIDED_IN: dict[str, frozenset[str]] = {
    "fluoroscopy": frozenset({"fluoroscopy"}),
    "ct": frozenset({"fluoroscopy"}),
    "ultrasound": frozenset({"ultrasound", "fluoroscopy"}),
}


def rooms_for(appointment_kind: str, guidances: Iterable[str] = ()) -> frozenset[str]:
    """The kinds of room that suit an appointment: a consultation or a visit, or an injection
    session under these guidances (every guidance of the session must be possible there)."""
    if appointment_kind != "injection":
        return frozenset({"consultation"})
    allowed = frozenset({"fluoroscopy", "ultrasound"})
    for guidance in guidances:
        allowed &= _GUIDED_IN.get(guidance, frozenset({"fluoroscopy"}))
    return allowed or frozenset({"fluoroscopy"})


def room_problem(appointment_kind: str, guidances: Iterable[str], room_kind: str) -> str | None:
    """Why a room of ``room_kind`` does not suit the appointment (None when it does)."""
    allowed = rooms_for(appointment_kind, tuple(guidances))
    if room_kind in allowed:
        return None
    names = " or ".join(sorted(ROOM_KINDS[k].lower() for k in allowed))
    what = {
        "injection": "This injection session",
        "visit": "A pre-procedure visit",
    }.get(appointment_kind, "A consultation")
    this = ROOM_KINDS[room_kind].lower()
    return f"{what} needs {_a(names)}; this room is {_a(this)}."


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
