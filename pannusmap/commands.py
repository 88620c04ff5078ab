from django.core.management.base import BaseCommand


class TranslatedCommand(BaseCommand):
    """A management command whose description is translated when the help text is shown.

    argparse needs a plain str description, so the lazy `help_text` is turned into one only
    when Django reads `help`.
    """

    help_text = ""

    @property
    def help(self):
        return str(self.help_text)
