"""The speech contracts under each CPU code path CTranslate2 can be forced onto, so they are seen to
hold on other machines' kernels (AVX-512 or AVX2, Intel's MKL or oneDNN as on AMD), not one.

    .venv/bin/python -m bench.speech_isa              # every ISA this CPU has x both GEMM backends
    .venv/bin/python -m bench.speech_isa --isas GENERIC AVX2 --backends mkl
    .venv/bin/python -m bench.speech_isa --tests tests/integration/voice/engines/test_whisper_window.py

Each combination runs the Whisper tests in a fresh pytest process with `CT2_FORCE_CPU_ISA` and
`CT2_USE_MKL` set (CTranslate2 uses MKL on Intel CPUs and oneDNN elsewhere by default; forcing
it shows the other vendor's path). The table gives what CTranslate2 reported it selected
(`CT2_VERBOSE=1` in a probe process that loads Whisper tiny.en with the same settings: pytest keeps
a passing test's output to itself), the pytest outcome and the wall time. An ISA the CPU lacks is
listed as such.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTS = [
    "tests/integration/voice/engines/test_non_speech.py",
    "tests/integration/voice/engines/test_whisper_window.py",
    "tests/integration/voice/engines/test_real_speech.py",
]
ISAS = ["GENERIC", "AVX", "AVX2", "AVX512"]
_SELECTED = re.compile(r"Selected ISA: (\w+)")
_MKL = re.compile(r"Use Intel MKL: (\w+)")
_SUMMARY = re.compile(r"^(?:=+ )?(\d+ (?:passed|failed|error).*?) in [\d.]+s", re.MULTILINE)


def cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def supported(isa: str, flags: set[str]) -> bool:
    needs = {"GENERIC": set(), "AVX": {"avx"}, "AVX2": {"avx2", "fma"}, "AVX512": {"avx512f", "avx512bw"}}
    return needs[isa] <= flags


_PROBE = (
    "from faster_whisper import WhisperModel\n"
    "from voxgate.voice.engines.bundled_weights import whisper_tiny_en_dir\n"
    "WhisperModel(str(whisper_tiny_en_dir()), device='cpu', compute_type='int8')\n"
)


def _environment(isa: str, backend: str) -> dict[str, str]:
    return {**os.environ, "CT2_FORCE_CPU_ISA": isa, "CT2_USE_MKL": "1" if backend == "mkl" else "0",
            "CT2_VERBOSE": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}


def selected_paths(isa: str, backend: str) -> tuple[str, str]:
    """What CTranslate2 says it selected (ISA, MKL) when Whisper loads with these settings."""
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=_environment(isa, backend),
                                capture_output=True, text=True, check=False, timeout=300)
    except subprocess.TimeoutExpired:
        return "?", "?"
    output = result.stdout + result.stderr
    return "/".join(sorted(set(_SELECTED.findall(output)))) or "?", "/".join(sorted(set(_MKL.findall(output)))) or "?"


def run(isa: str, backend: str, tests: list[str], timeout_s: float) -> tuple[str, str, str, float]:
    env = _environment(isa, backend)
    probed_isa, probed_mkl = selected_paths(isa, backend)
    started_s = time.perf_counter()
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                                 *tests], cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                                timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return probed_isa, probed_mkl, f"stopped after {timeout_s:.0f} s", time.perf_counter() - started_s
    elapsed_s = time.perf_counter() - started_s
    output = result.stdout + result.stderr
    summaries = _SUMMARY.findall(output)
    failures = [line for line in output.splitlines() if line.startswith("FAILED")]
    outcome = (summaries[-1] if summaries else f"exit {result.returncode}") + "".join(f"<br>{f}" for f in failures)
    return probed_isa, probed_mkl, outcome, elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--isas", nargs="+", default=ISAS, choices=ISAS)
    parser.add_argument("--backends", nargs="+", default=["dnnl", "mkl"], choices=["dnnl", "mkl"])
    parser.add_argument("--tests", nargs="+", default=DEFAULT_TESTS)
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="per combination; the run is stopped after")
    args = parser.parse_args()
    flags = cpu_flags()
    lines = ["| CT2_FORCE_CPU_ISA | CT2_USE_MKL | ISA selected | MKL used | pytest | wall s |",
             "|---|---|---|---|---|---|"]
    for isa in args.isas:
        if not supported(isa, flags):
            lines.append(f"| {isa} | - | not on this CPU | - | not run | - |")
            continue
        for backend in args.backends:
            selected, mkl, outcome, elapsed_s = run(isa, backend, args.tests, args.timeout_s)
            use_mkl = "1" if backend == "mkl" else "0"
            lines.append(f"| {isa} | {use_mkl} | {selected} | {mkl} | {outcome} | {elapsed_s:.0f} |")
            print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
