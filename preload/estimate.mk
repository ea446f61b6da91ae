# ksmpreload estimate: tests and benchmarks (sources are in preload/local.mk)
