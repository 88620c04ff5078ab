from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inference.export import export_dataset
from pannusmap.commands import TranslatedCommand


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Write all labelled TICs (CSV and NPZ) and a label mask per annotated series into a ZIP."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help=gettext_lazy("Output ZIP file."))

    def handle(self, *args, **options):
        out = options["out"]
        if out.suffix.lower() != ".zip":
            raise CommandError(_("The output %(path)s must end in .zip.") % {"path": out})
        if not out.parent.exists():
            raise CommandError(_("The folder %(path)s does not exist.") % {"path": out.parent})
        counts = export_dataset(out)
        self.stdout.write(
            _("Wrote %(path)s: %(tics)s TICs from %(rois)s ROIs, %(masks)s label masks.")
            % {"path": out, **counts}
        )
