from django.db import migrations

from annotations.reference import ensure_reference_data


def create_labels_and_roles(apps, schema_editor):
    ensure_reference_data(apps.get_model("annotations", "Label"), apps.get_model("auth", "Group"))


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_labels_and_roles, migrations.RunPython.noop)]
