"""Who is looking at a lab unit.

Course staff can view a unit as a specific learner (the platform's
"masquerade"): the runtime is then bound to the learner (their anonymous id,
their state), and the request's real user is kept on the learner's user
object as ``real_user``. A lab must not be launched, resumed, kept alive,
reset or checked then: that would be done in the learner's name, on their
usage and their grade. Staff see the learner's lab as it is, and nothing
more.
"""


def acting_user(user_service):
    """The Django user the runtime is bound to, as the platform's user
    service holds it (None outside the platform)."""
    return getattr(user_service, "_django_user", None)


def is_masquerading(user_service):
    """Is someone else (staff) looking through this learner's eyes?"""
    user = acting_user(user_service)
    real = getattr(user, "real_user", None)
    if user is None or real is None:
        return False
    return getattr(real, "pk", real) != getattr(user, "pk", user)
