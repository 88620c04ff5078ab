"""Names and descriptions the numerical core returns, marked for translation at the API.

The numerical modules import nothing from Django, so their strings are repeated here for
makemessages; tests/test_i18n_messages.py checks that the two lists stay the same.
"""

from django.utils.translation import gettext_noop

SHAPE_NAME_MESSAGES = [
    gettext_noop("noise"),
    gettext_noop("no enhancement"),
    gettext_noop("slow persistent"),
    gettext_noop("fast plateau"),
    gettext_noop("fast washout"),
    gettext_noop("fast continued rise"),
]

MAP_DESCRIPTION_MESSAGES = [
    gettext_noop("maximum relative enhancement (S_max - S0) / S0"),
    gettext_noop("initial rate of enhancement ME / time from the last baseline phase to the peak"),
    gettext_noop("maximum initial slope of (S - S0) / S0 between consecutive early phases"),
    gettext_noop("time from bolus arrival to the first phase of maximum signal"),
    gettext_noop("area under (S - S0) / S0 from bolus arrival over the iAUC window"),
    gettext_noop("signal enhancement ratio (S(t0 + early) - S0) / (S(t0 + late) - S0)"),
    gettext_noop("(S_peak,early - S_last) / (S_peak,early - S0). Negative means continued rise"),
    gettext_noop("TIC shape type 4 outside the arterial mask"),
]
