"""``make bench``: start the stack, run the cases, write bench-results.{json,md}, print.

    python -m tests.perf.run [--cases predict,ranges,batch,partition,queue,train] [--quick]

Postgres and Redis come from ``tests/with-services.sh`` (TASADOR_TEST_* URLs);
everything else is started here (see ``tests/perf/stack.py``). A case whose
input is absent is skipped with a message; a case that fails is reported as
failed and the others still run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable

from tests.perf import (
    case_batch,
    case_partition,
    case_predict,
    case_queue,
    case_ranges,
    case_train,
)
from tests.perf.fixtures import Model, register_model
from tests.perf.report import Results, machine, markdown
from tests.perf.stack import ROOT, Stack

CASES = ("predict", "ranges", "batch", "partition", "queue", "train")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.run", description=__doc__)
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and short runs, a sanity check"
    )
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    results = Results(machine(), "quick" if args.quick else "full")
    failed: list[str] = []
    try:
        with Stack(quick=args.quick) as stack:
            print(f"stack up: API {stack.api_url}, logs in {stack.logs}", flush=True)
            models: dict[str, Model] = {}
            for preset in ("notebook", "default"):
                models[preset] = register_model(stack, preset, quick=args.quick)
                how = "cached" if models[preset].cached else "trained"
                print(f"model {preset}: version {models[preset].version} ({how}, "
                      f"{models[preset].fit_seconds:.0f} s)", flush=True)  # fmt: skip
            runs: dict[str, Callable[[], None]] = {
                "predict": lambda: case_predict.run(stack, results, models, quick=args.quick),
                "ranges": lambda: case_ranges.run(stack, results, quick=args.quick),
                "batch": lambda: case_batch.run(stack, results, quick=args.quick),
                "partition": lambda: case_partition.run(stack, results, quick=args.quick),
                "queue": lambda: case_queue.run(stack, results, quick=args.quick),
                "train": lambda: case_train.run(stack, results, quick=args.quick),
            }
            for case in args.cases:
                case_started = time.perf_counter()
                print(f"case {case} ...", flush=True)
                try:
                    runs[case]()
                except Exception as exc:
                    traceback.print_exc()
                    failed.append(case)
                    results.skipped[case] = f"failed: {type(exc).__name__}: {exc}"[:300]
                print(f"case {case}: {time.perf_counter() - case_started:.0f} s", flush=True)
    except KeyboardInterrupt:
        print("interrupted; services stopped", file=sys.stderr)
        return 130
    results.wall_seconds = time.perf_counter() - started
    table = markdown(results)
    (ROOT / "bench-results.json").write_text(json.dumps(results.as_json(), indent=2, default=str))
    (ROOT / "bench-results.md").write_text(table)
    print()
    print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
