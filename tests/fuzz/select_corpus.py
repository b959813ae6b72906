#!/usr/bin/env python3
"""Picks the inputs worth committing from a libFuzzer merge control file.

libFuzzer's own merge keeps every input that reaches some edge no other does, which for the JSON
targets means a couple of hundred files, most adding one edge deep in nlohmann::json. This keeps
every input of the first corpus (the committed one: hand-written seeds stay) and then, greedily,
the inputs that add the most new edges (COV lines), stopping at --max files or when an input would
add fewer than --min-gain edges. Prints the chosen paths outside the first corpus, one a line.

Usage: select_corpus.py CONTROL_FILE [--max 40] [--min-gain 1]
"""
import argparse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("control")
    parser.add_argument("--max", type=int, default=40)
    parser.add_argument("--min-gain", type=int, default=1)
    args = parser.parse_args()

    with open(args.control) as f:
        lines = f.read().splitlines()
    count, first = int(lines[0]), int(lines[1])
    files = lines[2 : 2 + count]
    edges, sizes = {}, {}
    for line in lines[2 + count :]:
        fields = line.split()
        if fields and fields[0] == "STARTED":
            sizes[int(fields[1])] = int(fields[2])
        elif fields and fields[0] == "COV":
            edges[int(fields[1])] = set(fields[2:])

    covered = set()
    for i in range(first):
        covered |= edges.get(i, set())
    candidates = {i: edges[i] for i in range(first, count) if i in edges}
    chosen = []
    while candidates and len(chosen) < args.max:
        # Most new edges first; the smaller file on a tie (easier to read, cheaper to run).
        best = max(candidates, key=lambda i: (len(candidates[i] - covered), -sizes.get(i, 0)))
        gain = candidates.pop(best) - covered
        if len(gain) < args.min_gain:
            break
        covered |= gain
        chosen.append(files[best])
    for path in chosen:
        print(path)


if __name__ == "__main__":
    main()
