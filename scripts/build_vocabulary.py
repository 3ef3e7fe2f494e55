"""Build telemetry_sender/privacy/vocabulary.txt, the word list error text is kept by, reproducibly.

Sources, all pinned in constraints.txt:
- English: the most frequent words of `wordfreq`, minus person names (the US census first
  names and most common surnames shipped by `names`; a surname that the dictionary of
  `english_words` lists in lower case and that is among the most frequent words, such as
  `short` or `white`, stays) and the fictitious companies of Microsoft's examples
  (Contoso, Fabrikam, ...);
- az: the words of the installed azure-cli's own error messages, its flag names and
  resource-provider namespaces (`Microsoft.Web`), from its real sources;
- this extension's flag and argument names and the words of its own error messages.
A name az itself uses in several of its messages (`will`, `may`, `max`) stays: az's
wording is not a person. An entry the typed detection (privacy/scrub.py) would replace
(`aead_aes_256_cbc_hmac_sha256` is key-shaped, a GUID is a GUID) is left out: the
detection runs first, so such a word could never be kept, and it must not be weakened
for a word's sake (a secret is never kept because it looks like one).

    .venv/bin/python scripts/build_vocabulary.py           # write the file
    .venv/bin/python scripts/build_vocabulary.py --check   # exit 1 when the committed file differs
"""

from __future__ import annotations

import argparse
import ast
import collections
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import azcli_messages  # noqa: E402  (the paths are set just above)
from telemetry_sender.privacy.scrub import scrub_text  # noqa: E402  (likewise)
from telemetry_sender.privacy.vocabulary import VOCABULARY_FILE  # noqa: E402  (likewise)

ENGLISH_WORDS = 30_000
SURNAMES = 5_000  # the census list goes on into rare names that are also plain words
PLAIN_WORDS = 3_000  # a surname among the most frequent dictionary words is a word first
AZ_COMMON = 3  # an az message word used this often is az's wording, whatever else it is
# Microsoft's fictitious example organisations: names, however often documentation says them.
FICTITIOUS = frozenset({
    "contoso", "fabrikam", "northwind", "adventureworks", "woodgrove", "tailspin", "litware", "proseware",
    "wingtip", "wingtiptoys", "fourthcoffee", "relecloud", "alpineskihouse", "wideworldimporters", "margie",
    "cohowinery", "lucernepublishing", "trey", "treyresearch",
})
_ENGLISH = re.compile(r"[a-z]+(?:'[a-z]{1,2})?")
_AZ_TOKEN = re.compile(r"\w+(?:[.'-]\w+)*")
_ENTRY = re.compile(r"[a-z][a-z0-9]*(?:[._'-][a-z0-9]+)*")
_MAX_ENTRY = 40
_FILE_NAME = re.compile(r"[a-z_]+\.(?:ya?ml|json)")


def _census(file: str, limit: int | None) -> set[str]:
    import names

    lines = (Path(names.__file__).parent / file).read_text(encoding="utf-8").splitlines()
    return {line.split()[0].lower() for line in lines[:limit] if line.strip()}


def person_names() -> tuple[frozenset[str], frozenset[str]]:
    """Census first names (all) and the most common surnames, lower case."""
    first = _census("dist.male.first", None) | _census("dist.female.first", None)
    return frozenset(first), frozenset(_census("dist.all.last", SURNAMES))


def plain_words() -> frozenset[str]:
    """Frequent words the dictionary (Webster's, via `english_words`) also lists in lower case:
    a surname such as Short, White or Smith that is also a word stays a word."""
    import wordfreq
    from english_words import get_english_words_set

    lower_case = get_english_words_set(["web2"], lower=False, alpha=True)
    return frozenset(w for w in wordfreq.top_n_list("en", PLAIN_WORDS) if w in lower_case)


def english_words() -> set[str]:
    """The most frequent English words (letters, with an optional `'s`/`'t` style ending)."""
    import wordfreq

    return {w for w in wordfreq.top_n_list("en", ENGLISH_WORDS) if _ENGLISH.fullmatch(w)}


def _entry(token: str) -> str | None:
    lower = token.lower()
    if len(lower) <= _MAX_ENTRY and _ENTRY.fullmatch(lower) and any(c.isalpha() for c in lower):
        return lower
    return None


def az_words() -> collections.Counter[str]:
    """Words of azure-cli's error messages, counted, plus its flags and provider namespaces."""
    counts: collections.Counter[str] = collections.Counter()
    for template in azcli_messages.templates():
        for token in _AZ_TOKEN.findall(template.literal_text):
            entry = _entry(token)
            if entry:
                counts[entry] += 1
    for text in azcli_messages.string_constants():
        for flag in azcli_messages.flags_in(text):
            entry = _entry(flag.lstrip("-"))
            if entry:
                counts[entry] += 1
        for provider in azcli_messages.providers_in(text):
            namespace, *types = provider.split("/")
            for part in (namespace, *types):
                entry = _entry(part)
                if entry:
                    counts[entry] += 1
    return counts


def extension_words() -> set[str]:
    """This extension's flags, argument names and message words (`--iac-tool`, `iac_tool`, `prototype.yaml`)."""
    found: set[str] = set()
    for path in sorted((ROOT / "azext_prototype").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for flag in azcli_messages.flags_in(node.value):
                    found.add(flag.lstrip("-"))
                if _FILE_NAME.fullmatch(node.value):  # the project file's name
                    found.add(node.value)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "argument"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    for template in azcli_messages.templates(ROOT / "azext_prototype"):  # its own messages: `prototype.yaml`
        found.update(_AZ_TOKEN.findall(template.literal_text))
    return {e for e in map(_entry, found) if e}


def detected(words: set[str]) -> set[str]:
    """The words the typed detection would replace on their own (key-shaped runs, GUIDs, hex ids)."""
    return {w for w in words if scrub_text(w) != w}


def build() -> list[str]:
    """The sorted vocabulary."""
    az = az_words()
    common_in_az = {w for w, n in az.items() if n >= AZ_COMMON}
    first, surnames = person_names()
    excluded = (first - common_in_az) | (surnames - first - common_in_az - plain_words()) | FICTITIOUS
    vocabulary = (english_words() | set(az) | extension_words()) - excluded
    return sorted(vocabulary - detected(vocabulary))


def render(entries: list[str]) -> str:
    """The file's text: one entry a line."""
    return "\n".join(entries) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        same = VOCABULARY_FILE.exists() and VOCABULARY_FILE.read_text(encoding="utf-8") == text
        print("vocabulary.txt is up to date" if same else "vocabulary.txt differs: run scripts/build_vocabulary.py")
        return 0 if same else 1
    VOCABULARY_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {VOCABULARY_FILE.relative_to(ROOT)}: {text.count(chr(10))} entries, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
