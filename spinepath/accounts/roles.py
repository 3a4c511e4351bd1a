"""The clinic's roles, as Django groups. Permission checks go through these functions."""

from __future__ import annotations

from typing import Any

CLINICIAN = "clinician"
COORDINATOR = "coordinator"
CLINIC_ADMIN = "clinic_admin"
ROLES = (CLINICIAN, COORDINATOR, CLINIC_ADMIN)
ROLE_LABELS = {CLINICIAN: "Clinician", COORDINATOR: "Coordinator", CLINIC_ADMIN: "Clinic admin"}


def role_names(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_spinepath_roles", None)
    if cached is None:
        cached = _group_names(user)
        user._spinepath_roles = cached
    return cached


def _group_names(user: Any) -> set[str]:
    """The names of the user's groups, in SQL of its own: every staff request reads them, and
    the ORM's query costs ten times the read."""
    from django.contrib.auth import get_user_model
    from django.db import connections, router

    through = get_user_model().groups.through
    group = through._meta.get_field("group").related_model
    connection = connections[router.db_for_read(through)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.name FROM {group._meta.db_table} g "
            f"JOIN {through._meta.db_table} ug ON ug.group_id = g.id WHERE ug.user_id = %s",
            [user.pk],
        )
        return {row[0] for row in cursor.fetchall()}


# Who reads the clinic's outcomes (the dashboard, its exports and report, the follow-up
# completion): they are read, never stated, so no fact of the authority table is theirs.
OUTCOMES_READERS = (CLINICIAN, CLINIC_ADMIN)


def has_role(user: Any, *roles: str) -> bool:
    return bool(role_names(user) & set(roles))


def is_clinician(user: Any) -> bool:
    return has_role(user, CLINICIAN)


def is_staff_member(user: Any) -> bool:
    """Anyone who works with patient records: clinicians, coordinators, the clinic admin."""
    return has_role(user, *ROLES)
