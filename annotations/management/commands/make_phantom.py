"""Write a synthetic hand DCE-MRI phantom cohort (DICOM plus ground truth) to a folder."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inference.phantom import PhantomGeometry
from inference.phantom_dicom import write_cohort

DEFAULTS = PhantomGeometry()


class Command(BaseCommand):
    @property
    def help(self):
        # argparse needs a real str for the description; a lazy string raises TypeError.
        return _(
            "Generate a cohort of synthetic hand DCE-MRI phantoms: one DICOM series per subject "
            "with tissue labels, joint boxes and simulation parameters as ground truth."
        )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help=gettext_lazy("Output folder of the cohort."))
        parser.add_argument(
            "--subjects", type=int, default=3, help=gettext_lazy("Number of subjects (default 3).")
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help=gettext_lazy("Random seed; the same seed writes identical files (default 0)."),
        )
        self._add_geometry_arguments(parser)
        parser.add_argument(
            "--jitter-px",
            type=float,
            default=0.0,
            help=gettext_lazy(
                "Maximum random in-plane shift per phase in pixels, to exercise motion "
                "correction (default 0: no motion)."
            ),
        )

    def _add_geometry_arguments(self, parser):
        geometry_help = {
            "phases": gettext_lazy("Number of phases (default %(default)s)."),
            "slices": gettext_lazy("Number of slices (default %(default)s)."),
            "rows": gettext_lazy("Rows per slice in pixels (default %(default)s)."),
            "columns": gettext_lazy("Columns per slice in pixels (default %(default)s)."),
        }
        for name, text in geometry_help.items():
            parser.add_argument(f"--{name}", type=int, default=getattr(DEFAULTS, name), help=text)
        parser.add_argument(
            "--phase-interval",
            type=float,
            default=DEFAULTS.phase_interval_s,
            help=gettext_lazy("Time between phases in seconds (default %(default)s)."),
        )
        parser.add_argument(
            "--pixel-spacing",
            type=float,
            default=DEFAULTS.pixel_spacing_mm,
            help=gettext_lazy("Pixel spacing in mm written to the headers (default %(default)s)."),
        )
        parser.add_argument(
            "--slice-thickness",
            type=float,
            default=DEFAULTS.slice_thickness_mm,
            help=gettext_lazy("Slice thickness and spacing in mm (default %(default)s)."),
        )

    def handle(self, *args, **options):
        try:
            geometry = PhantomGeometry(
                phases=options["phases"],
                slices=options["slices"],
                rows=options["rows"],
                columns=options["columns"],
                pixel_spacing_mm=options["pixel_spacing"],
                slice_thickness_mm=options["slice_thickness"],
                phase_interval_s=options["phase_interval"],
            )
            folders = write_cohort(
                options["out"],
                options["subjects"],
                options["seed"],
                geometry,
                jitter_px=options["jitter_px"],
            )
        except ValueError as error:
            raise CommandError(_("Invalid phantom option: %(error)s") % {"error": error}) from None

        for folder in folders:
            self.stdout.write(str(folder))
        self.stdout.write(
            _("Wrote %(count)d subjects and %(cohort)s.")
            % {"count": len(folders), "cohort": Path(options["out"]) / "cohort.json"}
        )
