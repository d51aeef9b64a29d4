#!/usr/bin/env python3
"""Short stories about characters of lode's own invention, as NDJSON
{"text": ...} records, for the fine-tuning tests: stories260K has never
seen these names, places and things, so an adapter that learns them
lowers the loss of held-out stories of the same kind.

    stories.py COUNT SEED
"""
import json
import random
import sys

NAMES = ["Zibbo", "Quillra", "Morvin", "Plimsa", "Tozzle", "Fenwick", "Yarrabel", "Drusk"]
KINDS = ["glimmer-fox", "moss-bear", "puddle-wren", "stone-otter"]
PLACES = ["Glimmerdell", "the Wobbly Woods", "Pebblemoor", "the Fizzing Lake"]
THINGS = ["snorkelberry", "a humming lantern", "a twisty spoon", "a velvet acorn"]
FEELINGS = ["happy", "sad", "brave", "sleepy"]
ENDINGS = [
    "From that day on, {a} and {b} shared every {thing} they found.",
    "{a} smiled, and {b} hummed a little song about {place}.",
    "They went home to {place} and slept under the big blue moon.",
]


def story(r):
    a, b = r.sample(NAMES, 2)
    kind, place, thing, feel = r.choice(KINDS), r.choice(PLACES), r.choice(THINGS), r.choice(FEELINGS)
    s = [
        f"Once upon a time, in {place}, there lived a little {kind} named {a}.",
        f"{a} loved to look for {thing} every morning.",
        f"One day, {a} met {b}, who was feeling {feel}.",
        f"\"Do you want to find {thing} with me?\" asked {a}.",
        f"{b} said yes, and together they searched all over {place}.",
        r.choice(ENDINGS).format(a=a, b=b, thing=thing, place=place),
    ]
    return " ".join(s)


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    r = random.Random(seed)
    for _ in range(count):
        print(json.dumps({"text": story(r)}))


main()
