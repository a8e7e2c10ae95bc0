#!/usr/bin/env python3
"""Validates JSON lines on standard input against docs/schema/<name>.schema.json.

Usage: validate.py SCHEMA_DIR NAME [--expect-invalid]. Exit 0 when every line is valid (or, with
--expect-invalid, when every line is invalid); else 1, naming the line and what is wrong. The lines
every --json run may end with (mamsign/summary/1, mamsign/run-error/1) are validated against their own
schemas; every other line against NAME's.
"""
import json
import sys

import jsonschema


def load(schema_dir, name):
    with open(f"{schema_dir}/{name}.schema.json", encoding="utf-8") as f:
        schema = json.load(f)
    with open(f"{schema_dir}/common.schema.json", encoding="utf-8") as f:
        common = json.load(f)
    # The common definitions are merged in, so no reference resolver is needed (Debian 12 ships
    # jsonschema 4.10, whose resolver API differs from newer ones).
    text = json.dumps(schema).replace('"common.schema.json#/$defs/', '"#/$defs/')
    schema = json.loads(text)
    schema.setdefault("$defs", {}).update(common["$defs"])
    return schema


def main():
    schema_dir, name = sys.argv[1], sys.argv[2]
    expect_invalid = "--expect-invalid" in sys.argv[3:]
    validators = {}
    for n in (name, "summary", "run-error"):
        schema = load(schema_dir, n)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validators[n] = cls(schema)
    own = {"mamsign/summary/1": "summary", "mamsign/run-error/1": "run-error"}
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines:
        print(f"{name}: no JSON lines to validate", file=sys.stderr)
        return 1
    failed = False
    for n, line in enumerate(lines, 1):
        obj = json.loads(line)
        which = own.get(obj.get("schema"), name) if isinstance(obj, dict) else name
        errors = sorted(validators[which].iter_errors(obj), key=str)
        if expect_invalid and not errors:
            print(f"{name}: line {n} is valid, but should not be: {line[:200]}", file=sys.stderr)
            failed = True
        if not expect_invalid and errors:
            print(f"{name}: line {n}: {errors[0].message} at {list(errors[0].absolute_path)}", file=sys.stderr)
            failed = True
    print(f"{name}: {len(lines)} line(s) {'invalid as expected' if expect_invalid else 'valid'}" if not failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
