"""Developer tools outside the package the notebooks import: benchmarks (`make bench`) and the Lab launcher
(`make lab`)."""
