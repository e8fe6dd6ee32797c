"""Autoantibody names: one canonical spelling per antibody, and the MSA / MAA subgroups.

Laboratories write the same antibody many ways ("anti-Jo-1", "JO1", "Jo 1"). Every name is
reduced to a *key* (lower case, Greek letters spelled out, punctuation and spaces removed, an
"anti" prefix and an "antibody" suffix dropped) and looked up in one alias table, so the table
lists each spelling once and new spellings can be added by a user mapping file
(``extra_aliases``). A name the table does not know returns ``None``: the data layer turns that
into a validation error naming the value and its row, never a silent drop (clinical-rules.md s.2).

Which results count as positive: only ``result == "positive"``. A ``borderline`` (equivocal)
result is NOT positive, for the subgroup and for the IPAF serologic items alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ipafstudy.errors import InvalidOptionError
from ipafstudy.settings import ClinicalSettings

# Canonical name -> spellings (beyond the canonical name itself). Keys are built by _key(), so
# "Jo-1", "JO 1", "anti-Jo1" and "Jo1 antibody" need not be listed separately.
_ALIASES: dict[str, tuple[str, ...]] = {
    # Screening and rheumatoid serology
    "ANA": ("antinuclear antibody", "antinuclear antibodies", "anti-nuclear", "FANA", "ANA IIF", "IIF ANA",
            "ANA HEp-2", "HEp-2 ANA"),
    "RF": ("rheumatoid factor", "RF IgM", "IgM RF", "RF-IgM", "IgM rheumatoid factor"),
    "CCP": ("anti-CCP", "ACPA", "CCP2", "cyclic citrullinated peptide", "anti-cyclic citrullinated peptide"),
    "dsDNA": ("ds-DNA", "double-stranded DNA", "double stranded DNA", "DNA ds", "nDNA", "native DNA"),
    # Ro / La
    "Ro60": ("Ro-60", "SSA60", "SSA-60", "SS-A60", "SS-A 60", "SSA/Ro60", "SS-A/Ro60", "Ro60/SSA", "SSA Ro60",
             "Ro60kD", "SSA 60 kD", "SSA60kD", "TROVE2"),
    "Ro52": ("Ro-52", "SSA52", "SSA-52", "SS-A52", "SS-A 52", "SSA/Ro52", "SS-A/Ro52", "Ro52/SSA", "SSA Ro52",
             "Ro52kD", "SSA 52 kD", "SSA52kD", "TRIM21"),
    "SSA": ("SS-A", "Ro", "SSA/Ro", "SS-A/Ro", "Ro/SSA", "Ro/SS-A", "SSA Ro"),
    "La": ("SSB", "SS-B", "SSB/La", "SS-B/La", "La/SSB", "La/SS-B"),
    # Ribonucleoproteins, Sm
    "RNP": ("U1-RNP", "U1RNP", "U1 RNP", "snRNP", "U1-snRNP", "U1 snRNP", "nRNP", "RNP/Sm", "nRNP/Sm", "Sm/RNP",
            "U1-snRNP/Sm", "ribonucleoprotein", "U1 ribonucleoprotein", "RNP68", "RNP-70", "U1-70K"),
    "U2-RNP": ("U2RNP", "U2 RNP", "U2-snRNP", "U2 snRNP"),
    "U3-RNP": ("U3RNP", "U3 RNP", "U3-snoRNP", "fibrillarin"),
    "Sm": ("Smith", "anti-Smith", "Sm antigen"),
    # Scleroderma-associated
    "Scl-70": ("Scl70", "Scl 70", "topoisomerase", "topoisomerase I", "topoisomerase 1", "topo I", "topo-1",
               "Topo1", "DNA topoisomerase I", "ATA"),
    "PM-Scl": ("PMScl", "PM/Scl", "PM Scl", "PM-Scl75", "PM-Scl-75", "PM-Scl 75", "PMScl75", "PM-Scl100",
               "PM-Scl-100", "PM-Scl 100", "PMScl100", "PM/Scl-75", "PM/Scl-100", "exosome"),
    "Ku": ("Ku70", "Ku80", "Ku70/80", "Ku 70/80", "Ku86"),
    "Th/To": ("ThTo", "Th-To", "Th To", "RNase MRP"),
    "RNAP3": ("RNA polymerase III", "RNA pol III", "RNAP III", "RP3", "RNAPIII"),
    "CENP-B": ("CENPB", "CENP B", "centromere", "centromere B", "ACA"),
    "NOR90": ("NOR-90", "hUBF"),
    "PDGFR": ("PDGF receptor",),
    # Anti-tRNA synthetases
    "Jo-1": ("Jo1", "Jo 1", "histidyl-tRNA synthetase", "HisRS", "histidyl tRNA synthetase"),
    "PL-7": ("PL7", "PL 7", "threonyl-tRNA synthetase", "ThrRS"),
    "PL-12": ("PL12", "PL 12", "alanyl-tRNA synthetase", "AlaRS"),
    "EJ": ("glycyl-tRNA synthetase", "GlyRS"),
    "OJ": ("isoleucyl-tRNA synthetase", "IleRS"),
    "KS": ("asparaginyl-tRNA synthetase", "AsnRS"),
    "Zo": ("phenylalanyl-tRNA synthetase", "PheRS"),
    "YRS": ("Ha", "tyrosyl-tRNA synthetase", "tyrosyl-tRS", "TyrRS", "Ha/YRS", "YRS/Ha"),
    # Other myositis-specific
    "MDA-5": ("MDA5", "MDA 5", "CADM-140", "CADM140", "CADM 140", "IFIH1"),
    "Mi-2": ("Mi2", "Mi 2", "Mi-2 alpha", "Mi-2alpha", "Mi2alpha", "Mi-2a", "Mi2a", "Mi-2 beta", "Mi-2beta",
             "Mi2beta", "Mi-2b", "Mi2b", "CHD4"),
    "SRP": ("SRP54", "SRP-54", "signal recognition particle"),
    "NXP-2": ("NXP2", "NXP 2", "MJ", "MORC3"),
    "TIF1-gamma": ("TIF1g", "TIF1 gamma", "TIF-1 gamma", "TIF-1g", "TIF1-g", "p155/140", "p155", "p155/p140",
                   "TRIM33", "TIF1gamma"),
    "SAE": ("SAE1", "SAE2", "SAE-1", "SAE-2", "SAE1/SAE2", "SUMO activating enzyme"),
    "SC": (),
    "JS": (),
    "HMGCR": ("HMGR", "HMG-CoA reductase", "HMGCoA reductase", "3-hydroxy-3-methylglutaryl-CoA reductase"),
    "cN-1A": ("cN1A", "NT5C1A", "Mup44"),
    # Other ANA-profile antigens (recognised so they are not an error; used by no rule)
    "Histone": ("histones",),
    "Nucleosome": ("nucleosomes", "chromatin"),
    "Rib-P": ("ribosomal P", "ribosomal P protein", "RibP"),
    "PCNA": (),
    "DFS70": ("LEDGF", "DFS-70"),
    "AMA-M2": ("AMA M2", "M2", "AMA", "antimitochondrial"),
}

CANONICAL_ANTIBODIES: frozenset[str] = frozenset(_ALIASES)

ANTI_SYNTHETASE_ANTIBODIES: frozenset[str] = frozenset({"Jo-1", "PL-7", "PL-12", "EJ", "OJ", "KS", "Zo", "YRS"})
"""Serologic IPAF item 10 (clinical-rules.md s.1)."""

MSA_ANTIBODIES: frozenset[str] = frozenset(
    {"Jo-1", "PL-7", "PL-12", "EJ", "OJ", "KS", "Mi-2", "SRP", "NXP-2", "TIF1-gamma", "SAE", "MDA-5", "SC", "JS",
     "YRS", "Zo", "HMGCR"}
)
"""Myositis-specific: the study's list (s.2) plus KS, an anti-synthetase antibody the study did not name."""

MAA_ANTIBODIES: frozenset[str] = frozenset({"Ro60", "Ro52", "SSA", "RNP", "U2-RNP", "U3-RNP", "Ku", "PM-Scl"})
"""Myositis-associated: SSA/Ro60, SSA/Ro52, Ro unspecified, RNP (U1, U2, U3), Ku, PM-Scl (s.2)."""

_GREEK = {"γ": "gamma", "α": "alpha", "β": "beta", "µ": "u", "μ": "u"}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SUFFIXES = ("antibodies", "antibody", "antibodys", "abs", "igg", "igm", "iga", "kda", "kd")
_PREFIXES = ("anti",)


def _key(raw: str) -> str:
    """Spelling-insensitive lookup key: 'Anti-TIF1γ antibody' -> 'tif1gamma', 'Ro52 kDa IgG' -> 'ro52'."""
    text = str(raw).strip().lower()
    for greek, latin in _GREEK.items():
        text = text.replace(greek, latin)
    text = _NON_ALNUM.sub("", text)
    stripped = True
    while stripped:  # "Jo-1 antibody IgG" -> "jo1"
        stripped = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                stripped = True
                break
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix):]
            break
    return text


def _build_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in _ALIASES.items():
        for spelling in (canonical, *spellings):
            key = _key(spelling)
            if table.get(key, canonical) != canonical:  # two antibodies sharing a spelling is a table bug
                raise RuntimeError(f"antibody alias {spelling!r} maps to both {table[key]} and {canonical}")
            table[key] = canonical
    return table


_ALIAS_TABLE: dict[str, str] = _build_table()


def antibody_aliases() -> dict[str, tuple[str, ...]]:
    """Canonical name -> the spellings listed for it (for the data dictionary and docs)."""
    return {name: tuple(spellings) for name, spellings in _ALIASES.items()}


def normalise_antibody_name(raw: str, extra_aliases: Mapping[str, str] | None = None) -> str | None:
    """Canonical antibody name for a laboratory spelling, or None when the name is unknown.

    ``extra_aliases`` maps further spellings (from a user mapping file) to a canonical name (or
    to any spelling of one); they are checked first. A target that is itself unknown raises
    InvalidOptionError, because it would otherwise hide the antibody from every rule.

    >>> normalise_antibody_name("anti-JO 1"), normalise_antibody_name("TIF1γ"), normalise_antibody_name("HMGR")
    ('Jo-1', 'TIF1-gamma', 'HMGCR')
    >>> normalise_antibody_name("anti-XYZ") is None
    True
    """
    if raw is None:
        return None
    key = _key(raw)
    if not key:
        return None
    if extra_aliases:
        for spelling, target in extra_aliases.items():
            if _key(spelling) == key:
                resolved = _ALIAS_TABLE.get(_key(target))
                if resolved is None:
                    raise InvalidOptionError(
                        f"antibody mapping {spelling!r} -> {target!r}: {target!r} is not a known antibody; "
                        f"map it to one of {sorted(CANONICAL_ANTIBODIES)}"
                    )
                return resolved
    return _ALIAS_TABLE.get(key)


def check_antibody_aliases(extra_aliases: Mapping[str, str]) -> dict[str, str]:
    """Validate a user mapping once, before any row is read: spelling -> canonical name.

    Raises InvalidOptionError listing every target that is not a known antibody (a mapping file
    error, reported together rather than at the first data row that uses it).
    """
    resolved: dict[str, str] = {}
    bad = []
    for spelling, target in extra_aliases.items():
        canonical = _ALIAS_TABLE.get(_key(target))
        if canonical is None:
            bad.append(f"{spelling!r} -> {target!r}")
        else:
            resolved[str(spelling)] = canonical
    if bad:
        raise InvalidOptionError(
            f"antibody mapping: unknown target antibody in {', '.join(bad)}; "
            f"map each spelling to one of {sorted(CANONICAL_ANTIBODIES)}"
        )
    return resolved


def _canonical_or_error(name: str) -> str:
    canonical = normalise_antibody_name(name)
    if canonical is None:
        raise InvalidOptionError(
            f"unknown antibody name {name!r}; known antibodies are {sorted(CANONICAL_ANTIBODIES)}"
        )
    return canonical


@dataclass(frozen=True)
class AntibodyGroup:
    """Subgroup of one patient: 'MSA', 'MAA', 'neither' or 'overlap_excluded', with the evidence."""

    group: str
    msa_found: tuple[str, ...]
    maa_found: tuple[str, ...]
    both: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "msa_found": "; ".join(self.msa_found),
            "maa_found": "; ".join(self.maa_found),
            "both": self.both,
        }


def antibody_group(positive: Iterable[str], settings: ClinicalSettings) -> AntibodyGroup:
    """Assign the antibody subgroup from the antibodies a patient tested POSITIVE for.

    Pass only positive results (borderline is not positive). Names may be any known spelling.
    A patient with both an MSA and an MAA goes to the MSA group under
    ``settings.antibody_group_precedence == "msa"`` and to 'overlap_excluded' (in neither
    group, counted separately) under ``"exclude_overlap"``.

    >>> antibody_group(["Jo-1", "SSA52"], ClinicalSettings()).group
    'MSA'
    """
    if isinstance(positive, str):  # a bare string would be read letter by letter
        positive = [positive]
    names = {_canonical_or_error(n) for n in positive}
    msa = tuple(sorted(names & MSA_ANTIBODIES))
    maa = tuple(sorted(names & MAA_ANTIBODIES))
    both = bool(msa) and bool(maa)
    if both:
        group = "MSA" if settings.antibody_group_precedence == "msa" else "overlap_excluded"
    elif msa:
        group = "MSA"
    elif maa:
        group = "MAA"
    else:
        group = "neither"
    return AntibodyGroup(group=group, msa_found=msa, maa_found=maa, both=both)
