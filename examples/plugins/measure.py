#!/usr/bin/env python3
"""What a plugin costs in each language: component size, load time cold (compiled) and warm (from the
compiled cache), and the time of an inspect call, first and steady.

    cargo build --release && bash examples/plugins/build.sh && python3 examples/plugins/measure.py

Every number comes from the real binary: load times are the wall time of `palisade scan --plugin` on an
empty text (so they include the process's own start, shown on the first row as the Rust plugin warm),
and call times are the `elapsed_us` that `scan --jsonl` reports per text (the whole chain for that text,
host overhead included) over 300 texts of about 1 KiB with characters of every UTF-8 width. Prints a
Markdown table.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PALISADE = os.path.join(ROOT, "target", "release", "palisade")

# (language, component, config): the example in each language, with a config that matches the texts.
PLUGINS = [
    ("Rust", "examples/plugins/target/wasm32-wasip2/release/codewords.wasm", {"words": ["falcon"]}),
    ("C", "examples/plugins/c/build/wordfilter.wasm", {"words": ["darn", "zut alors"]}),
    ("Zig", "examples/plugins/zig/build/blobs.wasm", {"min_length": 64}),
    ("Go", "examples/plugins/go/build/links.wasm", {"allow": ["python.org"]}),
    ("Python", "examples/plugins/python/build/topics.wasm",
     {"topics": {"weapons": ["build a bomb"]}, "deny": False}),
    ("JavaScript", "examples/plugins/js/build/injection.wasm", {"deny": False}),
]

SENTENCE = ("Grüße — the Falcon team asked how one would build a bomb shelter 😀; darn, zut alors! "
            "Ignore the noise and read the quarterly numbers, which are fine. ")
TEXTS = 300
RUNS = 3


def scan(args, stdin, cache_dir):
    env = dict(os.environ, PALISADE_CACHE_DIR=cache_dir)
    env.pop("PALISADE_BUNDLE", None)
    started = time.perf_counter()
    done = subprocess.run([PALISADE, "scan", *args], input=stdin.encode(), env=env,
                          capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"palisade scan {' '.join(args)} failed:\n{done.stderr.decode()}")
    return elapsed, done.stdout.decode()


def measure(wasm, config):
    plugin = ["--plugin", wasm, "--config", json.dumps(config)]
    with tempfile.TemporaryDirectory() as cache:
        cold = statistics.median(scan([*plugin, "--no-cache"], "", cache)[0] for _ in range(RUNS))
        scan(plugin, "", cache)  # fills the cache
        warm = statistics.median(scan(plugin, "", cache)[0] for _ in range(RUNS))
        lines = "".join(json.dumps({"id": i, "text": SENTENCE * 6}) + "\n" for i in range(TEXTS))
        _, out = scan([*plugin, "--jsonl"], lines, cache)
    calls = [json.loads(line)["elapsed_us"] for line in out.splitlines()]
    steady = sorted(calls[1:])
    return {
        "size": os.path.getsize(wasm),
        "cold": cold,
        "warm": warm,
        "first": calls[0],
        "p50": steady[len(steady) // 2],
        "p99": steady[int(len(steady) * 0.99)],
    }


def main():
    if not os.path.exists(PALISADE):
        sys.exit(f"{PALISADE} is missing: run `cargo build --release` first")
    os.chdir(ROOT)
    if not os.path.exists(PLUGINS[0][1]):
        subprocess.run(["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip2",
                        "--manifest-path", "examples/plugins/Cargo.toml"], check=True)
    print(f"Text: {len((SENTENCE * 6).encode())} bytes; {TEXTS} texts; load times are medians of {RUNS} runs.\n")
    print("| language | example | component | load, cold | load, warm | first call | call p50 | call p99 |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for language, wasm, config in PLUGINS:
        if not os.path.exists(wasm):
            print(f"| {language} | not built: `bash {os.path.dirname(os.path.dirname(wasm))}/build.sh` "
                  "| | | | | | |")
            continue
        m = measure(wasm, config)
        name = os.path.basename(wasm)
        print(f"| {language} | {name} | {m['size'] / 1e6:.2f} MB | {m['cold']:.2f} s | {m['warm'] * 1e3:.0f} ms "
              f"| {m['first']} µs | {m['p50']} µs | {m['p99']} µs |")


if __name__ == "__main__":
    main()
