"""Roles and the access helpers that do the 404/403 for every view in one place."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .models import ROI, Series

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (ANNOTATOR, REVIEWER, ADMIN)


def user_roles(user):
    if not user.is_authenticated:
        return set()
    roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(ADMIN)
    return roles


def can_view(user):
    return bool(user_roles(user))


def can_annotate(user):
    return bool(user_roles(user) & {ANNOTATOR, ADMIN})


def can_review(user):
    return bool(user_roles(user) & {REVIEWER, ADMIN})


def is_admin(user):
    return ADMIN in user_roles(user)


def require(allowed):
    if not allowed:
        raise PermissionDenied


def get_series_for_user(user, pk):
    require(can_view(user))
    return get_object_or_404(Series.objects.select_related("study__subject"), pk=pk)


def get_roi_for_user(user, pk, write=False):
    require(can_view(user))
    roi = get_object_or_404(
        ROI.objects.select_related("label", "author", "series"), pk=pk, is_deleted=False
    )
    if write:
        require(can_annotate(user))
        if roi.author_id != user.id:
            raise PermissionDenied(
                _("ROI %(id)s belongs to %(owner)s; you can change or delete only your own ROIs.")
                % {"id": roi.pk, "owner": roi.author.username}
            )
    return roi
