"""Writes eng-fra.tsv: 500 short English<TAB>French sentence pairs built from a
small vocabulary, a translation task a GRU with attention learns in a minute
or two on a CPU. Deterministic: running it again writes the same file.

    python seq2seq_ext/data/samples/make_eng_fra.py

Two kinds of sentence, in the present tense:
- "She buys a small car." -> "Elle achète une petite voiture."
  (subject, verb, article, optional adjective, noun; optionally negated,
  then with "the", since French turns "not a" into "pas de");
- "The house is not big." -> "La maison n'est pas grande."
French adjectives agree with the noun's gender and some go before the noun.
"""

import random
from pathlib import Path

NUM_PAIRS = 500
SEED = 2024

# English subject, French subject, index into the conjugations below.
SUBJECTS = [
    ("I", "je", 0),
    ("you", "tu", 1),
    ("he", "il", 2),
    ("she", "elle", 2),
    ("we", "nous", 3),
    ("they", "ils", 4),
]

# English (base, third person), French (je, tu, il/elle, nous, ils), object kinds.
VERBS = [
    (("like", "likes"), ("aime", "aimes", "aime", "aimons", "aiment"), "thing food drink"),
    (("see", "sees"), ("vois", "vois", "voit", "voyons", "voient"), "thing"),
    (("want", "wants"), ("veux", "veux", "veut", "voulons", "veulent"), "thing food drink"),
    (("have", "has"), ("ai", "as", "a", "avons", "ont"), "thing"),
    (("buy", "buys"), ("achète", "achètes", "achète", "achetons", "achètent"), "thing food"),
    (("eat", "eats"), ("mange", "manges", "mange", "mangeons", "mangent"), "food"),
    (("drink", "drinks"), ("bois", "bois", "boit", "buvons", "boivent"), "drink"),
    (("read", "reads"), ("lis", "lis", "lit", "lisons", "lisent"), "text"),
]

# English, French, gender, kind. Every French noun starts with a consonant,
# so "le"/"la" never become "l'".
NOUNS = [
    ("car", "voiture", "f", "thing"),
    ("house", "maison", "f", "thing"),
    ("dog", "chien", "m", "thing"),
    ("cat", "chat", "m", "thing"),
    ("bike", "vélo", "m", "thing"),
    ("bag", "sac", "m", "thing"),
    ("chair", "chaise", "f", "thing"),
    ("table", "table", "f", "thing"),
    ("phone", "téléphone", "m", "thing"),
    ("key", "clé", "f", "thing"),
    ("apple", "pomme", "f", "food"),
    ("cake", "gâteau", "m", "food"),
    ("sandwich", "sandwich", "m", "food"),
    ("soup", "soupe", "f", "food"),
    ("coffee", "café", "m", "drink"),
    ("tea", "thé", "m", "drink"),
    ("juice", "jus", "m", "drink"),
    ("beer", "bière", "f", "drink"),
    ("book", "livre", "m", "text"),
    ("letter", "lettre", "f", "text"),
    ("newspaper", "journal", "m", "text"),
]
DESCRIBABLE = {"thing", "text"}  # the kinds that take an adjective

# English, French masculine, French feminine, whether it goes before the noun.
ADJECTIVES = [
    ("small", "petit", "petite", True),
    ("big", "grand", "grande", True),
    ("new", "nouveau", "nouvelle", True),
    ("red", "rouge", "rouge", False),
    ("black", "noir", "noire", False),
    ("green", "vert", "verte", False),
    ("white", "blanc", "blanche", False),
]
ARTICLES = {("the", "m"): "le", ("the", "f"): "la", ("a", "m"): "un", ("a", "f"): "une"}
VOWELS = tuple("aeéèiou")


def elide(word: str, next_word: str) -> str:
    """'je aime' -> "j'aime", 'ne est' -> "n'est"."""
    if word in ("je", "ne") and next_word.startswith(VOWELS):
        return word[0] + "'" + next_word
    return word + " " + next_word


def sentence(words: list[str]) -> str:
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def noun_phrase(article: str, noun, adjective) -> tuple[str, str]:
    english, french, gender, _ = noun
    words_en, words_fr = [article], [ARTICLES[article, gender]]
    if adjective is None:
        return " ".join(words_en + [english]), " ".join(words_fr + [french])
    adj_en, masculine, feminine, before = adjective
    adj_fr = feminine if gender == "f" else masculine
    words_fr += [adj_fr, french] if before else [french, adj_fr]
    return " ".join(words_en + [adj_en, english]), " ".join(words_fr)


def action(rng: random.Random) -> tuple[str, str]:
    subject_en, subject_fr, person = rng.choice(SUBJECTS)
    (base, third), forms, kinds = rng.choice(VERBS)
    noun = rng.choice([n for n in NOUNS if n[3] in kinds.split()])
    adjective = rng.choice(ADJECTIVES) if noun[3] in DESCRIBABLE and rng.random() < 0.4 else None
    negated = rng.random() < 0.25
    article = "the" if negated else rng.choice(["the", "a"])
    object_en, object_fr = noun_phrase(article, noun, adjective)
    verb_fr = forms[person]
    if negated:
        auxiliary = "does" if person == 2 else "do"
        verb_en = f"{auxiliary} not {base}"
        verb_fr = elide(subject_fr, elide("ne", verb_fr)) + " pas"
    else:
        verb_en = third if person == 2 else base
        verb_fr = elide(subject_fr, verb_fr)
    return sentence([subject_en, verb_en, object_en]), sentence([verb_fr, object_fr])


def description(rng: random.Random) -> tuple[str, str]:
    noun = rng.choice([n for n in NOUNS if n[3] in DESCRIBABLE])
    adj_en, masculine, feminine, _ = rng.choice(ADJECTIVES)
    subject_en, subject_fr = noun_phrase("the", noun, None)
    adj_fr = feminine if noun[2] == "f" else masculine
    if rng.random() < 0.3:
        return (
            sentence([subject_en, "is not", adj_en]),
            sentence([subject_fr, elide("ne", "est"), "pas", adj_fr]),
        )
    return sentence([subject_en, "is", adj_en]), sentence([subject_fr, "est", adj_fr])


def make_pairs(num_pairs: int = NUM_PAIRS, seed: int = SEED) -> list[tuple[str, str]]:
    """``num_pairs`` distinct pairs, about one in five a description."""
    rng = random.Random(seed)
    pairs = {}
    while len(pairs) < num_pairs:
        english, french = description(rng) if rng.random() < 0.2 else action(rng)
        pairs.setdefault(english, french)
    return list(pairs.items())


if __name__ == "__main__":
    path = Path(__file__).with_name("eng-fra.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{english}\t{french}\n" for english, french in make_pairs())
    print(f"wrote {NUM_PAIRS} pairs to {path}")
