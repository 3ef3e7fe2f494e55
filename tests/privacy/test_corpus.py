"""Real messages: every error template the installed azure-cli raises, filled with planted private values.

No planted value may survive `sanitize_error`, while at least 85% of the templates' own
words do. The figures are printed with the test run. A second opinion comes from
`detect-secrets`, run over the sanitized output.
"""

from __future__ import annotations

import collections
import random
import re
import sys
from pathlib import Path

import pytest

from telemetry_sender.privacy.errors import sanitize_error

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import azcli_messages  # noqa: E402  (scripts/ is put on sys.path just above)
from planted import Planted, planted_values  # noqa: E402  (likewise)

_WORD = re.compile(r"\w+(?:[.'-]\w+)*")
MIN_WORDS_KEPT = 0.85


def fill(template: azcli_messages.Template, values: list[Planted]) -> str:
    """The message as azure-cli would print it, each slot taking the next planted value."""
    pieces = []
    for part in template.parts:
        pieces.append(values.pop().text if part is azcli_messages.PLACEHOLDER else part)
    return f"{template.kind}: " + "".join(pieces)


@pytest.fixture(scope="module")
def corpus():
    """(template, planted values used, message, sanitized) for every harvested template with a slot."""
    templates = [t for t in azcli_messages.templates() if t.slots]
    rng = random.Random(20261130)
    supply = planted_values(rng, sum(t.slots for t in templates))[::-1]
    rows = []
    for template in templates:
        used = supply[-template.slots:]
        message = fill(template, supply)
        rows.append((template, used, message, sanitize_error(message)))
    return rows


def _leaks(used: list[Planted], out: str) -> list[Planted]:
    folded = out.lower()
    return [p for p in used if any(part.lower() in folded for part in p.private)]


def _words_kept(template: azcli_messages.Template, out: str) -> tuple[int, int]:
    """(kept, total) of the template's own words, counted with multiplicity."""
    wanted = collections.Counter(w for part in template.parts if isinstance(part, str) for w in _WORD.findall(part))
    wanted.update([template.kind])
    have = collections.Counter(_WORD.findall(out))
    return sum((wanted & have).values()), sum(wanted.values())


def test_no_planted_value_survives_and_most_words_do(corpus, capsys):
    leaks_by_category: collections.Counter[str] = collections.Counter()
    planted_by_category: collections.Counter[str] = collections.Counter()
    examples = []
    kept = total = templates_at_target = 0
    for template, used, message, out in corpus:
        planted_by_category.update(p.category for p in used)
        for leak in _leaks(used, out):
            leaks_by_category[leak.category] += 1
            examples.append((template.source, leak.text, out))
        k, t = _words_kept(template, out)
        kept, total = kept + k, total + t
        templates_at_target += k >= MIN_WORDS_KEPT * t
    share = kept / total
    with capsys.disabled():
        print(f"\nazure-cli corpus: {len(corpus)} messages, {sum(planted_by_category.values())} planted values, "
              f"{sum(leaks_by_category.values())} leaks, {share:.1%} of template words kept ({kept}/{total}); "
              f"{templates_at_target / len(corpus):.1%} of messages keep at least {MIN_WORDS_KEPT:.0%} of their words")
        for category in sorted(planted_by_category):
            print(f"  {category:14} planted {planted_by_category[category]:5}  leaked {leaks_by_category[category]}")
    assert len(corpus) > 1000, "the harvest found too few azure-cli messages"
    assert not examples, examples[:5]
    assert share >= MIN_WORDS_KEPT


def test_every_category_was_planted(corpus):
    categories = {p.category for _, used, _, _ in corpus for p in used}
    assert categories == {"email", "guid", "secret", "url", "path", "arm-id", "resource-name"}


def test_detect_secrets_finds_nothing_in_the_sanitized_output(corpus, tmp_path):
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    raw, clean = tmp_path / "raw.txt", tmp_path / "clean.txt"
    raw.write_text("\n".join(message.replace("\n", " ") for _, _, message, _ in corpus), encoding="utf-8")
    clean.write_text("\n".join(out.replace("\n", " ") for _, _, _, out in corpus), encoding="utf-8")
    with default_settings():
        before, after = SecretsCollection(), SecretsCollection()
        before.scan_file(str(raw))
        after.scan_file(str(clean))
    found_before = [s.type for f in before.files for s in before[f]]
    found_after = [(s.line_number, s.type) for f in after.files for s in after[f]]
    assert len(found_before) > 100  # the scanner does see the planted secrets in the raw messages
    assert found_after == []


def test_most_words_are_kept_even_without_azs_own_words(corpus, monkeypatch, capsys):
    """The vocabulary holds az's message words, so the figure above flatters: measured again with
    English alone (wordfreq minus names), the allow-list still keeps most of az's wording."""
    import build_vocabulary
    from telemetry_sender.privacy import vocabulary

    first, _ = build_vocabulary.person_names()
    english = frozenset(build_vocabulary.english_words() - first - build_vocabulary.FICTITIOUS)
    monkeypatch.setattr(vocabulary, "_LOADED", [english])
    kept = total = leaks = 0
    for template, used, message, _ in corpus:
        out = sanitize_error(message)
        leaks += len(_leaks(used, out))
        k, t = _words_kept(template, out)
        kept, total = kept + k, total + t
    with capsys.disabled():
        print(f"\nwith English words only ({len(english)}): {leaks} leaks, {kept / total:.1%} of template words kept")
    assert leaks == 0
    assert kept / total >= MIN_WORDS_KEPT
