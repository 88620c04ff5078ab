"""The fixed tissue labels and roles every PannusMap database starts with."""

from django.utils.translation import gettext_noop

# Colours follow common anatomy conventions (muscle red, bone ivory, synovitis magenta, vessels
# red/blue) and stay distinguishable for the usual red-green colour-vision deficiencies.
LABELS = [
    ("muscle", gettext_noop("Muscle"), "#e4572e", 1),
    ("bone", gettext_noop("Bone"), "#f2e8cf", 2),
    ("synovitis", gettext_noop("Synovitis"), "#d61f9b", 3),
    ("artery", gettext_noop("Artery"), "#ff2d2d", 4),
    ("vein", gettext_noop("Vein"), "#3a7bff", 5),
    ("other", gettext_noop("Other"), "#9aa4b2", 6),
]
ROLES = ["annotator", "reviewer", "admin"]


def ensure_reference_data(label_model, group_model):
    """Create the labels and role groups that are missing; models may be historical ones."""
    for name, display_name, color, order in LABELS:
        label_model.objects.update_or_create(
            name=name, defaults={"display_name": display_name, "color": color, "order": order}
        )
    for role in ROLES:
        group_model.objects.get_or_create(name=role)
