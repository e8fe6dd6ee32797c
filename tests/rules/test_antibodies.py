"""Antibody name normalisation and MSA / MAA grouping (clinical-rules.md s.2)."""

from __future__ import annotations

import pytest

from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.antibodies import (
    ANTI_SYNTHETASE_ANTIBODIES,
    CANONICAL_ANTIBODIES,
    MAA_ANTIBODIES,
    MSA_ANTIBODIES,
    antibody_aliases,
    antibody_group,
    check_antibody_aliases,
    normalise_antibody_name,
)
from ipafstudy.settings import ClinicalSettings

# Every spelling listed in clinical-rules.md s.2, with the canonical name we expect.
SPEC_SPELLINGS = [
    ("Jo1", "Jo-1"), ("JO-1", "Jo-1"), ("anti-Jo-1", "Jo-1"), ("jo 1", "Jo-1"), ("Anti Jo1", "Jo-1"),
    ("PL7", "PL-7"), ("PL-7", "PL-7"), ("PL12", "PL-12"), ("PL-12", "PL-12"),
    ("NXP2", "NXP-2"), ("NXP-2", "NXP-2"), ("MJ", "NXP-2"),
    ("TIF1g", "TIF1-gamma"), ("TIF1-gamma", "TIF1-gamma"), ("TIF1γ", "TIF1-gamma"), ("p155/140", "TIF1-gamma"),
    ("MDA5", "MDA-5"), ("MDA-5", "MDA-5"), ("CADM-140", "MDA-5"),
    ("Mi2", "Mi-2"), ("Mi-2", "Mi-2"), ("Mi-2 alpha", "Mi-2"), ("Mi-2β", "Mi-2"), ("Mi-2α", "Mi-2"),
    ("SAE", "SAE"), ("SAE1", "SAE"), ("SAE2", "SAE"),
    ("HMGR", "HMGCR"), ("HMGCR", "HMGCR"),
    ("YRS", "YRS"), ("Ha", "YRS"), ("tyrosyl-tRNA synthetase", "YRS"),
    ("SSA", "SSA"), ("SS-A", "SSA"), ("Ro", "SSA"), ("Ro60", "Ro60"), ("SSA60", "Ro60"),
    ("Ro52", "Ro52"), ("SSA52", "Ro52"), ("TRIM21", "Ro52"),
    ("SSB", "La"), ("SS-B", "La"), ("La", "La"),
    ("RNP", "RNP"), ("U1-RNP", "RNP"), ("U1RNP", "RNP"), ("snRNP", "RNP"),
    ("PM-Scl", "PM-Scl"), ("PMScl", "PM-Scl"), ("PM-Scl75", "PM-Scl"), ("PM-Scl100", "PM-Scl"),
    # the brief's further antibodies
    ("ANA", "ANA"), ("antinuclear antibodies", "ANA"), ("RF", "RF"), ("rheumatoid factor", "RF"),
    ("anti-CCP", "CCP"), ("dsDNA", "dsDNA"), ("anti-ds-DNA", "dsDNA"), ("Sm", "Sm"), ("Smith", "Sm"),
    ("anti-Smith", "Sm"), ("Scl-70", "Scl-70"), ("SCL70", "Scl-70"), ("topoisomerase I", "Scl-70"),
    ("KS", "KS"), ("Th/To", "Th/To"), ("Ku", "Ku"), ("EJ", "EJ"), ("OJ", "OJ"), ("Zo", "Zo"),
    ("SRP", "SRP"), ("SC", "SC"), ("JS", "JS"), ("U2-RNP", "U2-RNP"), ("U3 RNP", "U3-RNP"),
    ("  anti-Jo-1 antibody ", "Jo-1"),
    # isotype and molecular-weight suffixes some laboratories append
    ("anti-Jo-1 antibody IgG", "Jo-1"), ("Ro52 kDa", "Ro52"), ("SSA 60 kD", "Ro60"), ("RF IgA", "RF"),
    ("anti-CCP IgG", "CCP"),
]


@pytest.mark.parametrize(("raw", "canonical"), SPEC_SPELLINGS)
def test_spec_spellings_normalise(raw, canonical):
    assert normalise_antibody_name(raw) == canonical


@pytest.mark.parametrize("raw", ["anti-XYZ", "", "   ", "Jo-2", "PL-8", "positive", "anti-"])
def test_unknown_name_is_none_not_guessed(raw):
    assert normalise_antibody_name(raw) is None


def test_none_input_is_none():
    assert normalise_antibody_name(None) is None  # type: ignore[arg-type]


def test_canonical_names_are_fixed_points():
    for name in CANONICAL_ANTIBODIES:
        assert normalise_antibody_name(name) == name


def test_every_listed_alias_maps_to_its_own_canonical():
    for canonical, spellings in antibody_aliases().items():
        for spelling in spellings:
            assert normalise_antibody_name(spelling) == canonical, spelling


def test_group_sets_are_canonical_and_disjoint():
    assert MSA_ANTIBODIES <= CANONICAL_ANTIBODIES
    assert MAA_ANTIBODIES <= CANONICAL_ANTIBODIES
    assert ANTI_SYNTHETASE_ANTIBODIES <= MSA_ANTIBODIES
    assert not MSA_ANTIBODIES & MAA_ANTIBODIES
    assert {"Jo-1", "PL-7", "PL-12", "EJ", "OJ", "KS", "Zo", "YRS"} == ANTI_SYNTHETASE_ANTIBODIES
    # the study's MSA list (s.2), HMGR spelled HMGCR
    study_msa = {"Jo-1", "PL-7", "PL-12", "EJ", "OJ", "Mi-2", "SRP", "NXP-2", "TIF1-gamma", "SAE", "MDA-5",
                 "SC", "JS", "YRS", "Zo", "HMGCR"}
    assert study_msa <= MSA_ANTIBODIES
    assert {"Ro60", "Ro52", "RNP", "U2-RNP", "U3-RNP", "Ku", "PM-Scl"} <= MAA_ANTIBODIES


def test_extra_aliases_add_spellings():
    extra = {"Anti-Jo One": "Jo-1", "SSA-Ro 52kD": "anti-Ro52"}
    assert normalise_antibody_name("anti-jo one", extra) == "Jo-1"
    assert normalise_antibody_name("SSA Ro 52 kD", extra) == "Ro52"
    assert normalise_antibody_name("anti-jo one") is None  # not in the built-in table


def test_extra_alias_to_unknown_target_is_an_error():
    with pytest.raises(InvalidOptionError, match="'Histo-X'"):
        normalise_antibody_name("HX", {"HX": "Histo-X"})


def test_inputs_not_modified():
    extra = {"a b": "Jo-1"}
    normalise_antibody_name("a b", extra)
    assert extra == {"a b": "Jo-1"}


DEFAULT = ClinicalSettings()
EXCLUDE = ClinicalSettings(antibody_group_precedence="exclude_overlap")


@pytest.mark.parametrize(
    ("positive", "settings", "group", "msa", "maa", "both"),
    [
        (["Jo-1"], DEFAULT, "MSA", ("Jo-1",), (), False),
        (["anti-SSA52"], DEFAULT, "MAA", (), ("Ro52",), False),
        (["ANA", "RF"], DEFAULT, "neither", (), (), False),
        ([], DEFAULT, "neither", (), (), False),
        (["PL7", "Ro60"], DEFAULT, "MSA", ("PL-7",), ("Ro60",), True),
        (["PL7", "Ro60"], EXCLUDE, "overlap_excluded", ("PL-7",), ("Ro60",), True),
        (["MDA5"], EXCLUDE, "MSA", ("MDA-5",), (), False),
        (["Ku", "PM-Scl75", "PM-Scl100"], EXCLUDE, "MAA", (), ("Ku", "PM-Scl"), False),
        (["La", "Scl-70", "Th/To"], DEFAULT, "neither", (), (), False),
    ],
)
def test_antibody_group(positive, settings, group, msa, maa, both):
    res = antibody_group(positive, settings)
    assert (res.group, res.msa_found, res.maa_found, res.both) == (group, msa, maa, both)


def test_antibody_group_single_string_and_unknown_name():
    assert antibody_group("Jo-1", DEFAULT).group == "MSA"
    with pytest.raises(InvalidOptionError, match="'anti-XYZ'"):
        antibody_group(["Jo-1", "anti-XYZ"], DEFAULT)


def test_antibody_group_to_dict():
    assert antibody_group(["Ro60", "Jo1"], DEFAULT).to_dict() == {
        "group": "MSA", "msa_found": "Jo-1", "maa_found": "Ro60", "both": True,
    }


def test_check_antibody_aliases_resolves_and_lists_all_bad_targets():
    assert check_antibody_aliases({"Jo One": "anti-Jo1", "R52": "TRIM21"}) == {"Jo One": "Jo-1", "R52": "Ro52"}
    with pytest.raises(InvalidOptionError, match=r"'A' -> 'x1'.*'B' -> 'x2'"):
        check_antibody_aliases({"A": "x1", "B": "x2", "C": "Jo-1"})
