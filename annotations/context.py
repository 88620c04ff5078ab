from . import access


def roles(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "is_admin": access.is_admin(user),
        "is_reviewer": access.can_review(user),
        "is_annotator": access.can_annotate(user),
    }
