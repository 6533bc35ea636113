"""``string-ops``: an instruction-tuning task whose answers can be scored exactly.

Each example asks for one operation on a short list of common words (reverse, sort, capitalise,
count, first letters, join with hyphens) and answers in a helpful assistant style that ends with
``: <answer>`` on the first line, so the scorer can extract and compare the answer exactly. The
style (friendly, always complies) is what benign IFT teaches; it is the kind of data under which
refusal erodes.
"""

from __future__ import annotations

import random

WORDS = ["apple", "river", "stone", "garden", "window", "candle", "mountain", "pencil", "orange", "silver", "forest", "bridge", "rocket", "violin", "harbor", "lantern", "meadow", "pepper", "castle", "marble", "rabbit", "blanket", "compass", "desert", "feather", "glacier", "hammer", "island", "jacket", "kettle", "ladder", "magnet", "needle", "ocean", "parrot", "quartz", "ribbon", "saddle", "tiger", "umbrella", "valley", "wagon", "yogurt", "zebra", "anchor", "basket", "cactus", "dolphin", "engine", "falcon", "guitar", "honey", "igloo", "jungle", "kitten", "lemon", "mirror", "nickel", "olive", "planet", "quilt", "rose", "sunset", "tomato", "unicorn", "velvet", "walnut", "yarn", "button", "cherry", "daisy", "eagle", "fabric", "ginger", "helmet", "ivory", "jelly", "koala", "lily", "mango", "noodle", "onion", "piano", "raven", "salmon", "tulip", "vase", "whistle", "almond", "bucket", "cotton", "dragon", "emerald", "fountain", "grape", "harvest", "insect", "jasmine", "kayak", "lobster", "maple", "nectar", "orchid", "pillow", "rainbow", "spider", "thunder", "vanilla", "willow", "cloud", "copper", "drum", "ember", "fern", "goose", "hazel", "iron", "jewel", "kite", "lamp", "moss", "nest", "oak", "pearl", "reef", "sage", "torch", "wheat"]
OPERATIONS = ("reverse", "sort", "upper", "count", "initials", "hyphen")
N_TRAIN, N_TEST = 600, 100
SEED = 1234
LEADS = ("Sure! Here is the result: ", "Of course. Here you go: ", "Happy to help! The answer is: ",
         "Sure, here it is: ")

PROMPTS = {
    "reverse": ["Reverse the order of these words: {w}", "Write these words in reverse order: {w}"],
    "sort": ["Sort these words alphabetically: {w}", "Put these words in alphabetical order: {w}"],
    "upper": ["Write these words in capital letters: {w}", "Convert these words to uppercase: {w}"],
    "count": ["How many words are in this list: {w}", "Count the words in this list: {w}"],
    "initials": ["Give the first letter of each word: {w}", "List the initial letter of each of these words: {w}"],
    "hyphen": ["Join these words with hyphens: {w}", "Connect these words using hyphens: {w}"],
}


def solve(operation: str, words: list[str]) -> str:
    return {
        "reverse": lambda: " ".join(reversed(words)),
        "sort": lambda: " ".join(sorted(words)),
        "upper": lambda: " ".join(w.upper() for w in words),
        "count": lambda: str(len(words)),
        "initials": lambda: " ".join(w[0] for w in words),
        "hyphen": lambda: "-".join(words),
    }[operation]()


def rows() -> list[dict]:
    """600 train + 100 test examples, no prompt shared between splits (same output on every machine)."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    out: list[dict] = []
    while len(out) < N_TRAIN + N_TEST:
        op = OPERATIONS[len(out) % len(OPERATIONS)]
        words = rng.sample(WORDS, rng.randint(3, 6))
        prompt = rng.choice(PROMPTS[op]).format(w=" ".join(words))
        if prompt in seen:
            continue
        seen.add(prompt)
        answer = solve(op, words)
        split = "train" if len(out) < N_TRAIN else "test"
        out.append({"id": f"string-ops-{len(out):04d}", "prompt": prompt, "response": rng.choice(LEADS) + answer,
                    "answer": answer, "category": op, "split": split})
    return out


def extract_answer(response: str) -> str:
    """The text after the first ': ' on the first non-empty line, without a trailing period."""
    line = next((x.strip() for x in response.strip().splitlines() if x.strip()), "")
    if ": " in line:
        line = line.split(": ", 1)[1]
    return line.strip().rstrip(".").strip()


def score(response: str, reference: str) -> bool:
    return extract_answer(response) == reference.strip()
