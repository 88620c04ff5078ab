import json

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotations.importer.errors import ImportRejected
from annotations.imports import ImportConflict, import_dicom, import_options
from pannusmap.commands import TranslatedCommand


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Import DICOM files, folders or ZIP archives into dynamic (4-D) series."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="+", help=gettext_lazy("DICOM files, folders or ZIP archives.")
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help=gettext_lazy("Print the series created and the per-file report as JSON."),
        )
        parser.add_argument(
            "--partial-phase",
            choices=["drop", "keep"],
            default="drop",
            help=gettext_lazy("What to do with an incomplete last phase (default: drop)."),
        )
        parser.add_argument(
            "--deidentify",
            action="store_true",
            help=gettext_lazy("Replace identifying DICOM values with a pseudonym on import."),
        )
        parser.add_argument(
            "--philips-scaling",
            choices=["displayed", "floating"],
            default="displayed",
            help=gettext_lazy(
                "Convention for Philips private scale factors: displayed value (default) or "
                "floating-point value."
            ),
        )

    def handle(self, *args, **options):
        chosen = import_options(
            partial_phase=options["partial_phase"],
            deidentify=options["deidentify"],
            philips_scaling=options["philips_scaling"],
        )
        try:
            result, outcomes = import_dicom(options["paths"], chosen)
        except (ImportRejected, ImportConflict, FileNotFoundError) as error:
            raise CommandError(str(error)) from None
        files = result.to_dict()["files"]
        if options["json"]:
            self.stdout.write(
                json.dumps({"series": outcomes, "files": files}, indent=2, default=str)
            )
            if not outcomes:
                raise CommandError(
                    _("No dynamic series found in %(paths)s.")
                    % {"paths": ", ".join(options["paths"])}
                )
            return
        for outcome in outcomes:
            times = outcome["phase_times_s"]
            self.stdout.write(
                _(
                    "%(state)s series %(id)s: %(shape)s (phases × slices × rows × columns), pixel spacing %(spacing)s mm, "
                    "phases at %(first).1f–%(last).1f s from %(source)s"
                )
                % {
                    "state": _("Created") if outcome["created"] else _("Already stored"),
                    "id": outcome["id"],
                    "shape": " × ".join(map(str, outcome["shape"])),
                    "spacing": " × ".join(f"{v:g}" for v in outcome["pixel_spacing_mm"]),
                    "first": times[0],
                    "last": times[-1],
                    "source": outcome["time_source"],
                }
            )
            for warning in outcome["warnings"]:
                self.stdout.write("  " + _("warning: %(text)s") % {"text": warning})
        not_imported = [f for f in files if f["status"] not in ("imported",)]
        for report in not_imported:
            self.stdout.write(f"  {report['status']}: {report['path']}: {report['reason']}")
        if not outcomes:
            raise CommandError(
                _("No dynamic series found in %(paths)s.") % {"paths": ", ".join(options["paths"])}
            )
