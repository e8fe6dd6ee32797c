"""Table S3 reasons: one category per rule, without a patient's dates or option names (issue 10 item 20 exposed it)."""

from __future__ import annotations

import re

import pytest

from ipafstudy.analysis.study import missing_reason_words

LABELS = {"mmrc": "mMRC", "crp": "CRP", "esr": "ESR", "methylprednisolone_dose": "MPRED"}


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("no mmrc value in the baseline window 2023-12-24 to 2024-03-23 (baseline_window_days=90, start day "
         "included)", "no mMRC value in the baseline window"),
        ("no crp value in the baseline window 2023-12-24 to 2024-03-22 (baseline_window_days=90, start day "
         "excluded); nearest earlier value on 2023-11-01 (-140 days)", "no CRP value in the baseline window"),
        ("no crp value after 2023-01-01 up to 2023-06-30 (during treatment)", "no CRP value during treatment"),
        ("no esr value after 2023-01-01 up to the data cut-off (during treatment)", "no ESR value during treatment"),
        ("no complete follow-up visit after 2023-01-01 up to 2023-06-30: no date with all of mmrc, esr, crp, "
         "methylprednisolone_dose present (follow_up_rule=latest_complete_visit; crp was measured on 2023-02-01)",
         "no complete follow-up visit during treatment: no date with all of mMRC, ESR, CRP, MPRED present"),
        ("no value recorded", "no value recorded"),
    ],
)
def test_reason_words_drop_dates_and_options(reason: str, words: str) -> None:
    got = missing_reason_words(reason, LABELS)
    assert got == words
    assert not re.search(r"\d{4}-\d{2}-\d{2}|[a-z]+_[a-z]+|=", got)


def test_two_patients_with_the_same_rule_share_one_reason() -> None:
    a = "no mmrc value in the baseline window 2023-12-24 to 2024-03-23 (baseline_window_days=90, start day included)"
    b = "no mmrc value in the baseline window 2021-02-01 to 2021-05-02 (baseline_window_days=90, start day included)"
    assert missing_reason_words(a, LABELS) == missing_reason_words(b, LABELS)
