# tests/metrics: /metrics against the real promtool and node_exporter
# (issues 10 and 12): lint, hostile names, per-reader series, savings that
# add up, the textfile collector.
TESTS += tests/metrics/metrics_prom.sh
EXTRA_DIST += tests/metrics/metrics_prom.sh
