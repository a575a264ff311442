def pytest_terminal_summary(terminalreporter):
    from benchmarks.test_extraction import MEANS  # noqa: F401 (filled while benchmarks run)
    from benchmarks.test_segmentation import RATES

    if RATES:
        terminalreporter.section("segmentation, time per minute of audio (one process, mean)")
        for name, rate in RATES.items():
            terminalreporter.write_line(f"{name:50s} {rate:7.1f} ms")

    key = next((k for k in ("seed_style[original]", "seed_style[embedded]") if k in MEANS), None)
    if key is None:
        return
    seed = MEANS[key]
    terminalreporter.section(f"speed-up over {key} (mean seconds)")
    for name, mean in MEANS.items():
        terminalreporter.write_line(f"{name:40s} {mean:8.3f} s   {seed / mean:7.1f}x")
