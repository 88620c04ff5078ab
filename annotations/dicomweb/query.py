"""QIDO-RS query parameters and attribute matching.

Supported matching (PS3.4 C.2.2.2): single value, universal (empty value), wildcard (* and ?)
on text, UID list (comma or backslash separated), and range (a-b, -b, a-) on DA, TM and DT.
Person names match without regard to case. Matching on sequence items is not supported.
"""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from pydicom.datadict import dictionary_VR, tag_for_keyword

from pannusmap.errors import UserError

from .params import check_uid, shorten

MAX_RESULTS = 1000
RESERVED = ("limit", "offset", "includefield", "fuzzymatching")
NUMERIC_VRS = {"IS", "DS", "US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"}
RANGE_VRS = {"DA", "TM", "DT"}
_TAG_PATTERN = re.compile(r"[0-9A-Fa-f]{8}")


@dataclass(frozen=True)
class Filter:
    """One matching key: a DICOM JSON key, its VR and the requested value ("" matches anything)."""

    key: str
    vr: str
    value: str

    def matches(self, record):
        if self.value == "":
            return True
        values = [_text(value, self.vr) for value in record.get(self.key, {}).get("Value", [])]
        return any(match_value(value, self.vr, self.value) for value in values)


@dataclass
class Query:
    """A parsed QIDO-RS query string."""

    filters: list = field(default_factory=list)
    include_all: bool = False
    include_keys: set = field(default_factory=set)
    limit: int = MAX_RESULTS
    offset: int = 0

    def uids(self, keyword):
        """Return the UIDs that a UID filter on `keyword` accepts, or None when there is no such filter."""
        key = f"{tag_for_keyword(keyword):08X}"
        accepted = None
        for item in self.filters:
            if item.key == key and item.value:
                values = set(split_uid_list(item.value))
                accepted = values if accepted is None else accepted & values
        return accepted

    def matches(self, record):
        return all(item.matches(record) for item in self.filters)

    def select(self, record, default_keys):
        """Return the attributes of `record` that the response carries, in tag order."""
        keys = set(default_keys) | self.include_keys | {item.key for item in self.filters}
        if self.include_all:
            keys |= set(record)
        return {key: record.get(key) or {"vr": vr_of(key)} for key in sorted(keys)}

    def page(self, records):
        """Return (records from offset up to limit, whether more matched)."""
        end = self.offset + self.limit
        return records[self.offset:end], len(records) > end


def parse_query(params):
    """Return the Query of a QueryDict; raise UserError on an unknown key or invalid value."""
    query = Query()
    for name, values in params.lists():
        if name == "includefield":
            _parse_include(query, values)
        elif name == "limit":
            query.limit = min(_parse_count(name, values[-1], minimum=1), MAX_RESULTS)
        elif name == "offset":
            query.offset = _parse_count(name, values[-1], minimum=0)
        elif name == "fuzzymatching":
            # Person names always match without regard to case; no other fuzzy matching is done.
            _parse_boolean(name, values[-1])
        else:
            key, vr = resolve_key(name)
            query.filters.extend(_make_filter(name, key, vr, value) for value in values)
    return query


def resolve_key(name):
    """Return (DICOM JSON key, VR) of a keyword such as PatientID or a tag such as 00100020."""
    tag = int(name, 16) if _TAG_PATTERN.fullmatch(name) else tag_for_keyword(name)
    try:
        vr = dictionary_VR(tag) if tag is not None else None
    except KeyError:
        vr = None
    if vr is None or vr == "SQ":
        raise UserError(
            _("Query parameter %(name)s is not supported. Use a DICOM keyword (PatientID) or a tag "
              "of 8 hexadecimal digits (00100020) of a non-sequence attribute, or one of %(reserved)s.")
            % {"name": shorten(name), "reserved": ", ".join(RESERVED)},
            code="invalid_query",
        )
    return f"{tag:08X}", vr.split(" or ")[0]


def vr_of(key):
    return dictionary_VR(int(key, 16)).split(" or ")[0]


def split_uid_list(value):
    return [uid for uid in re.split(r"[,\\]", value) if uid]


# Valid bounds of a date or time match: YYYYMMDD, and HH, HHMM or HHMMSS with a fraction.
_BOUND_PATTERNS = {
    "DA": (re.compile(r"\d{8}"), "YYYYMMDD"),
    "TM": (re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?"), "HHMMSS.FFFFFF"),
}


def _make_filter(name, key, vr, value):
    if vr == "UI":
        for uid in split_uid_list(value):
            check_uid(uid, name)
    if vr in _BOUND_PATTERNS and value:
        _check_bounds(name, vr, value)
    return Filter(key, vr, value)


def _check_bounds(name, vr, value):
    pattern, form = _BOUND_PATTERNS[vr]
    bounds = value.split("-") if value.count("-") == 1 else [value]
    if not any(bounds) or not all(pattern.fullmatch(bound) for bound in bounds if bound):
        raise UserError(
            _("Query parameter %(name)s=%(value)s is not a valid value or range; write %(form)s or "
              "%(form)s-%(form)s (either bound may be left out).")
            % {"name": shorten(name), "value": shorten(value), "form": form},
            code="invalid_query",
        )


def _parse_include(query, values):
    for value in values:
        for name in filter(None, value.split(",")):
            if name == "all":
                query.include_all = True
            else:
                query.include_keys.add(resolve_key(name)[0])


def _parse_count(name, value, minimum):
    if not value.isdigit() or int(value) < minimum:
        raise UserError(_("%(name)s=%(value)s is invalid. Give a whole number of at least %(minimum)s.")
                        % {"name": name, "value": shorten(value), "minimum": minimum},
                        code="invalid_query")
    return int(value)


def _parse_boolean(name, value):
    if value.lower() not in ("true", "false"):
        raise UserError(_("%(name)s=%(value)s is invalid. Use true or false.")
                        % {"name": name, "value": shorten(value)}, code="invalid_query")


def _text(value, vr):
    if vr == "PN" and isinstance(value, dict):
        return value.get("Alphabetic", "")
    return value


def match_value(value, vr, pattern):
    """Return whether one attribute value matches one QIDO-RS matching value."""
    if vr == "UI":
        return str(value) in split_uid_list(pattern)
    if vr in RANGE_VRS and "-" in pattern:
        return _in_range(str(value).strip(), pattern)
    if "*" in pattern or "?" in pattern:
        if vr == "PN":
            return wildcard_match(pattern.lower(), str(value).lower())
        return wildcard_match(pattern, str(value))
    if vr in NUMERIC_VRS:
        return _same_number(value, pattern)
    if vr == "PN":
        return str(value).lower() == pattern.lower()
    return str(value) == pattern


def _in_range(value, pattern):
    lower, _sep, upper = pattern.partition("-")
    if lower and value < lower:
        return False
    # A bound of lower precision (1106) takes in every finer value inside it (110636.1).
    return not upper or value[:len(upper)] <= upper


def wildcard_match(pattern, text):
    """Return whether `text` matches `pattern`, where * is any run of characters and ? is one.

    A greedy scan that returns to the last * on a mismatch takes O(len(pattern) * len(text))
    steps, so a pattern with many * cannot make the match slow the way a regular expression can.
    """
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif star >= 0:
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return all(character == "*" for character in pattern[p:])


def _same_number(value, pattern):
    try:
        return float(value) == float(pattern)
    except (TypeError, ValueError):
        return str(value) == pattern
