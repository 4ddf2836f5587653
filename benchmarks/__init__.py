"""`make bench`: scenarios measured on SQLite and PostgreSQL, written up in docs/benchmarks.md."""
