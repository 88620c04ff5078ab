from django.db import migrations

# Colours follow common anatomy conventions (muscle red, bone ivory, synovitis magenta, vessels
# red/blue) and stay distinguishable for the usual red-green colour-vision deficiencies.
LABELS = [
    ("muscle", "Muscle", "#e4572e", 1),
    ("bone", "Bone", "#f2e8cf", 2),
    ("synovitis", "Synovitis", "#d61f9b", 3),
    ("artery", "Artery", "#ff2d2d", 4),
    ("vein", "Vein", "#3a7bff", 5),
    ("other", "Other", "#9aa4b2", 6),
]
ROLES = ["annotator", "reviewer", "admin"]


def create_labels_and_roles(apps, schema_editor):
    Label = apps.get_model("annotations", "Label")
    Group = apps.get_model("auth", "Group")
    for name, display_name, color, order in LABELS:
        Label.objects.update_or_create(
            name=name, defaults={"display_name": display_name, "color": color, "order": order}
        )
    for role in ROLES:
        Group.objects.get_or_create(name=role)


class Migration(migrations.Migration):
    dependencies = [("annotations", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_labels_and_roles, migrations.RunPython.noop)]
